//! A small HTTP/1.1 server for the registry tests: token services, the Azure AD
//! and ACR stand-ins, and a fault-injecting reverse proxy in front of the real
//! registry. One request per connection (`Connection: close`); stops on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query parameters (all values of a repeated name).
    pub fn query(&self, name: &str) -> Vec<String> {
        let query = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_values(query, name)
    }

    /// `application/x-www-form-urlencoded` body parameter.
    pub fn form(&self, name: &str) -> Option<String> {
        form_values(&String::from_utf8_lossy(&self.body), name)
            .into_iter()
            .next()
    }
}

/// Values of `name` in `a=b&c=d`.
pub fn form_values(text: &str, name: &str) -> Vec<String> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(v))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 2;
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What to do with a request.
pub enum Reply {
    /// Answer.
    Respond {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Pass it to this upstream and relay the answer.
    Forward(SocketAddr),
    /// Relay the upstream answer, but cut the body after this many bytes.
    ForwardTruncated(SocketAddr, usize),
    /// Wait, then do the other thing.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap(),
        }
    }

    /// An empty answer with headers.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        Reply::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }
}

/// A running server.
pub struct HttpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Starts a server on 127.0.0.1 with a free port.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let handler = handler.clone();
                        std::thread::spawn(move || serve(stream, handler.as_ref()));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpServer { addr, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, handler: &(dyn Fn(&Request) -> Reply + Send + Sync)) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let mut stream = stream;
    answer(&mut stream, &request, handler(&request));
}

fn answer(stream: &mut TcpStream, request: &Request, reply: Reply) {
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Forward(upstream) => {
            if let Some(response) = forward(upstream, request) {
                let _ = stream.write_all(&response);
            }
        }
        Reply::ForwardTruncated(upstream, keep) => {
            if let Some(response) = forward(upstream, request) {
                let head_end = response
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |p| p + 4);
                let end = (head_end + keep).min(response.len());
                let _ = stream.write_all(&response[..end]);
            }
        }
        Reply::Delay(wait, then) => {
            std::thread::sleep(wait);
            answer(stream, request, *then);
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn forward(upstream: SocketAddr, request: &Request) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect(upstream).ok()?;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        if name == "connection" || name == "transfer-encoding" || name == "content-length" {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    conn.write_all(head.as_bytes()).ok()?;
    conn.write_all(&request.body).ok()?;
    let mut response = Vec::new();
    conn.read_to_end(&mut response).ok()?;
    Some(response)
}
