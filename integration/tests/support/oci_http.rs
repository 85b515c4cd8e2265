//! A small HTTP/1.1 server for the registry tests: token services, the Azure AD
//! and ACR stand-ins, hostile token realms and redirect targets, and a
//! fault-injecting reverse proxy in front of the real registry. Real sockets;
//! HTTPS (rustls, with a CA made by the test) when asked. One request per
//! connection (`Connection: close`); stops on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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
    /// Did it come over TLS?
    pub tls: bool,
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
    /// Relay the upstream answer, its body one byte at a time with this pause
    /// before each: a registry that never stalls long enough to time out a read.
    ForwardTrickled(SocketAddr, Duration),
    /// Relay the upstream answer with every `from` in its headers replaced by `to`.
    ForwardReplacing(SocketAddr, Vec<(String, String)>),
    /// Answer with these headers (give `Content-Length` yourself), then write the
    /// chunks with a pause before each, until they end or the client goes away.
    Stream {
        /// Status code.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// The body, chunk by chunk.
        chunks: Box<dyn Iterator<Item = Vec<u8>> + Send>,
        /// The pause before each chunk.
        pause: Duration,
    },
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
    /// Does it speak TLS (and plain HTTP on the same port)?
    pub tls: bool,
    stop: Arc<AtomicBool>,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

impl HttpServer {
    /// Starts a plain-HTTP server on 127.0.0.1 with a free port.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
        HttpServer::listen(None, Arc::new(handler))
    }

    /// Starts an HTTPS server with `ca`'s certificate for 127.0.0.1. The same port
    /// also answers plain HTTP ([`Request::tls`] says which), as a hostile server
    /// listening for credentials sent in the clear would.
    pub fn start_tls(
        ca: &TestCa,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> HttpServer {
        HttpServer::listen(Some(ca.server.clone()), Arc::new(handler))
    }

    fn listen(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let is_tls = tls.is_some();
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let handler = handler.clone();
                        let tls = tls.clone();
                        std::thread::spawn(move || serve(stream, tls, handler.as_ref()));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpServer {
            addr,
            tls: is_tls,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A CA made by the test and a server certificate it issued for 127.0.0.1.
pub struct TestCa {
    /// The CA certificate, PEM (for `--registry-ca`).
    pub pem: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    /// Makes the CA and the certificate; writes the CA's PEM into `dir`.
    pub fn new(dir: &Path) -> TestCa {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gate test https ca");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
        let cert = params.signed_by(&key, &issuer).expect("cert");
        let pem = dir.join("https-ca.pem");
        std::fs::write(&pem, ca_cert.pem()).expect("ca pem");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server config");
        TestCa {
            pem,
            server: Arc::new(server),
        }
    }
}

/// A connection, plain or TLS.
trait Conn: Read + Write + Send {
    fn close(&mut self);
}

impl Conn for TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

fn serve(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, handler: &Handler) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    // A TLS connection starts with a handshake record (0x16); anything else is plain HTTP.
    let mut first = [0u8; 1];
    let is_tls = tls.is_some() && stream.peek(&mut first).is_ok_and(|n| n == 1) && first[0] == 0x16;
    let conn: Box<dyn Conn> = match tls {
        Some(config) if is_tls => match rustls::ServerConnection::new(config) {
            Ok(server) => Box::new(rustls::StreamOwned::new(server, stream)),
            Err(_) => return,
        },
        _ => Box::new(stream),
    };
    let mut reader = BufReader::new(conn);
    let Some(mut request) = read_request(&mut reader) else {
        return;
    };
    request.tls = is_tls;
    let conn = reader.get_mut();
    answer(conn.as_mut(), &request, handler(&request));
    conn.close();
}

fn answer(stream: &mut dyn Conn, request: &Request, reply: Reply) {
    let head = |status: u16, headers: &[(String, String)], length: Option<usize>| {
        let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        if let Some(length) = length {
            head.push_str(&format!("Content-Length: {length}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        head
    };
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let _ = stream.write_all(head(status, &headers, Some(body.len())).as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Forward(upstream) => {
            if let Some(response) = forward(upstream, request) {
                let _ = stream.write_all(&response);
            }
        }
        Reply::ForwardReplacing(upstream, replacements) => {
            if let Some(response) = forward(upstream, request) {
                let head_end = response
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(response.len(), |p| p + 4);
                let mut head = String::from_utf8_lossy(&response[..head_end]).into_owned();
                for (from, to) in &replacements {
                    head = head.replace(from.as_str(), to);
                }
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&response[head_end..]);
            }
        }
        Reply::ForwardTrickled(upstream, pause) => {
            if let Some(response) = forward(upstream, request) {
                let head_end = response
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(response.len(), |p| p + 4);
                if stream.write_all(&response[..head_end]).is_err() {
                    return;
                }
                for byte in &response[head_end..] {
                    std::thread::sleep(pause);
                    if stream
                        .write_all(std::slice::from_ref(byte))
                        .and_then(|()| stream.flush())
                        .is_err()
                    {
                        return;
                    }
                }
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
        Reply::Stream {
            status,
            headers,
            chunks,
            pause,
        } => {
            if stream
                .write_all(head(status, &headers, None).as_bytes())
                .is_err()
            {
                return;
            }
            for chunk in chunks {
                std::thread::sleep(pause);
                if stream
                    .write_all(&chunk)
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
            }
        }
        Reply::Delay(wait, then) => {
            std::thread::sleep(wait);
            answer(stream, request, *then);
        }
    }
    let _ = stream.flush();
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
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
        tls: false,
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
    if request.tls {
        // As a TLS-terminating proxy says: the registry then writes https:// URLs.
        head.push_str("X-Forwarded-Proto: https\r\n");
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
