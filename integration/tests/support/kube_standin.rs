//! A stand-in for the kube-apiserver (no API server can run here): just the REST
//! calls gate's Flux controller makes, on 127.0.0.1, over real HTTP. Objects are
//! plain JSON shaped as the Flux and gate CRDs define them; the stand-in stores
//! them, applies merge patches, bumps resourceVersions and streams watch events.
//! It decides nothing: whatever the controller writes is what a test reads back.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// `group/version/plural` of the resources the stand-in serves.
pub const GATES: &str = "gate.dev/v1alpha1/gates";
pub const EXTERNAL_ARTIFACTS: &str = "source.toolkit.fluxcd.io/v1/externalartifacts";
pub const GIT_REPOSITORIES: &str = "source.toolkit.fluxcd.io/v1/gitrepositories";
pub const OCI_REPOSITORIES: &str = "source.toolkit.fluxcd.io/v1/ocirepositories";
pub const BUCKETS: &str = "source.toolkit.fluxcd.io/v1/buckets";
pub const EVENTS: &str = "events.k8s.io/v1/events";

const KINDS: [(&str, &str); 6] = [
    (GATES, "Gate"),
    (EXTERNAL_ARTIFACTS, "ExternalArtifact"),
    (GIT_REPOSITORIES, "GitRepository"),
    (OCI_REPOSITORIES, "OCIRepository"),
    (BUCKETS, "Bucket"),
    (EVENTS, "Event"),
];

#[derive(Clone, Debug)]
struct WatchEvent {
    rv: u64,
    resource: String,
    namespace: String,
    kind: &'static str,
    object: Value,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    uid: u64,
    objects: BTreeMap<(String, String, String), Value>,
    log: Vec<WatchEvent>,
    /// Every request, as `METHOD path?query`, for tests that check what was called.
    requests: Vec<String>,
    /// Artifacts served at `/artifacts/NAME` (a source-controller's file server).
    files: BTreeMap<String, Served>,
}

/// How an artifact is served.
#[derive(Clone)]
pub enum Served {
    /// The whole body.
    Whole(Vec<u8>),
    /// Half of it, then the connection breaks.
    Broken(Vec<u8>),
}

struct Shared {
    inner: Mutex<Inner>,
    events: broadcast::Sender<WatchEvent>,
}

/// A running stand-in. Stops when dropped (its runtime thread ends with the test process).
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl StandIn {
    /// Starts on a free port of 127.0.0.1.
    pub fn start() -> StandIn {
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            events,
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new().fallback(handle).with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        StandIn { addr, shared }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig pointing at the stand-in.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: standin\n  cluster: {{server: \"{}\"}}\nusers:\n- name: standin\n  user: {{token: standin}}\ncontexts:\n- name: standin\n  context: {{cluster: standin, user: standin, namespace: default}}\ncurrent-context: standin\n",
            self.url()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Serves an artifact at `/artifacts/NAME`; returns its URL.
    pub fn serve_file(&self, name: &str, served: Served) -> String {
        self.shared
            .inner
            .lock()
            .unwrap()
            .files
            .insert(name.to_owned(), served);
        format!("{}/artifacts/{name}", self.url())
    }

    /// Creates or replaces an object, status included (as the object's own controller would).
    pub fn put(&self, resource: &str, object: Value) {
        let mut inner = self.shared.inner.lock().unwrap();
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        let key = (resource.to_owned(), ns.clone(), name);
        let existing = inner.objects.get(&key).cloned();
        let mut object = object;
        let kind = if let Some(old) = existing {
            object["metadata"]["uid"] = old["metadata"]["uid"].clone();
            object["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"].clone();
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
            object["metadata"]["generation"] = json!(if old["spec"] != object["spec"] {
                generation + 1
            } else {
                generation
            });
            "MODIFIED"
        } else {
            stamp_new(&mut inner, &mut object);
            "ADDED"
        };
        commit(&mut inner, &self.shared.events, resource, &ns, kind, object);
    }

    /// Replaces an object's status (e.g. a new source revision).
    pub fn set_status(&self, resource: &str, ns: &str, name: &str, status: Value) {
        let mut object = self.get(resource, ns, name).expect("object to update");
        object["status"] = status;
        let mut inner = self.shared.inner.lock().unwrap();
        commit(
            &mut inner,
            &self.shared.events,
            resource,
            ns,
            "MODIFIED",
            object,
        );
    }

    /// An object, if it exists.
    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .objects
            .get(&(resource.to_owned(), ns.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every object of a resource in a namespace.
    pub fn list(&self, resource: &str, ns: &str) -> Vec<Value> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .objects
            .iter()
            .filter(|((r, n, _), _)| r == resource && n == ns)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().requests.clone()
    }

    /// Waits until `check` returns something, or fails the test after `limit`.
    pub fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        mut check: impl FnMut(&StandIn) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = check(self) {
                return found;
            }
            if start.elapsed() > limit {
                panic!(
                    "timed out waiting for {what}; last requests:\n{}",
                    self.requests()
                        .iter()
                        .rev()
                        .take(30)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn stamp_new(inner: &mut Inner, object: &mut Value) {
    inner.uid += 1;
    object["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{:012}", inner.uid));
    object["metadata"]["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
    object["metadata"]["generation"] = json!(1);
}

fn commit(
    inner: &mut Inner,
    events: &broadcast::Sender<WatchEvent>,
    resource: &str,
    ns: &str,
    kind: &'static str,
    mut object: Value,
) {
    inner.rv += 1;
    object["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = (resource.to_owned(), ns.to_owned(), name);
    if kind == "DELETED" {
        inner.objects.remove(&key);
    } else {
        inner.objects.insert(key, object.clone());
    }
    let event = WatchEvent {
        rv: inner.rv,
        resource: resource.to_owned(),
        namespace: ns.to_owned(),
        kind,
        object,
    };
    inner.log.push(event.clone());
    let _ = events.send(event);
}

/// RFC 7386 JSON merge patch. A patch object applies to an empty object where
/// the target has none, so its `null`s are dropped, never stored (as the API
/// server does: `{"annotations": {"a": null}}` on an object without annotations
/// leaves none).
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn kind_of(resource: &str) -> Option<&'static str> {
    KINDS.iter().find(|(r, _)| *r == resource).map(|(_, k)| *k)
}

/// Label selector terms: `key` (exists), `key=value`, `key!=value`.
fn selects(selector: &str, object: &Value) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let labels = &object["metadata"]["labels"];
        if let Some((k, v)) = term.split_once("!=") {
            labels[k].as_str() != Some(v)
        } else if let Some((k, v)) = term.split_once('=') {
            labels[k.trim_end_matches('=')].as_str() == Some(v)
        } else {
            !labels[term].is_null()
        }
    })
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query: BTreeMap<String, String> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect();
    shared
        .inner
        .lock()
        .unwrap()
        .requests
        .push(format!("{method} {}", request.uri()));
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    if let Some(name) = path.strip_prefix("/artifacts/") {
        return serve_artifact(&shared, name);
    }
    let Some(rest) = path.strip_prefix("/apis/") else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{path} is not served"),
        );
    };
    let parts: Vec<&str> = rest.split('/').collect();
    // group/version/plural | group/version/namespaces/ns/plural[/name[/status]]
    let (gv, ns, plural, name, sub) = match parts[..] {
        [g, v, plural] => (format!("{g}/{v}"), None, plural, None, None),
        [g, v, "namespaces", ns, plural] => (format!("{g}/{v}"), Some(ns), plural, None, None),
        [g, v, "namespaces", ns, plural, name] => {
            (format!("{g}/{v}"), Some(ns), plural, Some(name), None)
        }
        [g, v, "namespaces", ns, plural, name, sub] => {
            (format!("{g}/{v}"), Some(ns), plural, Some(name), Some(sub))
        }
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("{path} is not served"),
            );
        }
    };
    let resource = format!("{gv}/{plural}");
    let Some(kind) = kind_of(&resource) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("the server could not find the requested resource {resource}"),
        );
    };
    match (method, name, sub) {
        (Method::GET, None, None)
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") =>
        {
            watch(shared, resource, ns.map(str::to_owned), &query)
        }
        (Method::GET, None, None) => {
            let inner = shared.inner.lock().unwrap();
            let selector = query.get("labelSelector").cloned().unwrap_or_default();
            let items: Vec<Value> = inner
                .objects
                .iter()
                .filter(|((r, n, _), v)| {
                    *r == resource && ns.is_none_or(|ns| ns == n) && selects(&selector, v)
                })
                .map(|(_, v)| v.clone())
                .collect();
            ok(json!({
                "apiVersion": gv, "kind": format!("{kind}List"),
                "metadata": {"resourceVersion": inner.rv.to_string()}, "items": items
            }))
        }
        (Method::GET, Some(name), None | Some("status")) => {
            match shared.inner.lock().unwrap().objects.get(&(
                resource.clone(),
                ns.unwrap_or_default().to_owned(),
                name.to_owned(),
            )) {
                Some(v) => ok(v.clone()),
                None => status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("{plural} \"{name}\" not found"),
                ),
            }
        }
        (Method::POST, None, None) => {
            let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "body is not JSON".into(),
                );
            };
            let ns = ns.unwrap_or_default().to_owned();
            let mut inner = shared.inner.lock().unwrap();
            if object["metadata"]["name"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                let prefix = object["metadata"]["generateName"]
                    .as_str()
                    .unwrap_or("x-")
                    .to_owned();
                object["metadata"]["name"] = json!(format!("{prefix}{}", inner.rv + 1));
            }
            object["metadata"]["namespace"] = json!(ns);
            let name = object["metadata"]["name"].as_str().unwrap().to_owned();
            if inner
                .objects
                .contains_key(&(resource.clone(), ns.clone(), name.clone()))
            {
                return status(
                    StatusCode::CONFLICT,
                    "AlreadyExists",
                    format!("{plural} \"{name}\" already exists"),
                );
            }
            // A new object has no status: the status subresource is written separately.
            if resource != EVENTS {
                object.as_object_mut().unwrap().remove("status");
            }
            stamp_new(&mut inner, &mut object);
            commit(
                &mut inner,
                &shared.events,
                &resource,
                &ns,
                "ADDED",
                object.clone(),
            );
            let stored = inner.objects[&(resource.clone(), ns, name)].clone();
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                stored.to_string(),
            )
                .into_response()
        }
        (Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "patch is not JSON".into(),
                );
            };
            let ns = ns.unwrap_or_default().to_owned();
            let mut inner = shared.inner.lock().unwrap();
            let key = (resource.clone(), ns.clone(), name.to_owned());
            let Some(mut object) = inner.objects.get(&key).cloned() else {
                return status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("{plural} \"{name}\" not found"),
                );
            };
            let before_spec = object["spec"].clone();
            if sub == Some("status") {
                // The status subresource takes only status.
                merge(&mut object["status"], &patch["status"]);
            } else {
                let mut patch = patch.clone();
                if resource != EVENTS {
                    patch.as_object_mut().map(|p| p.remove("status"));
                }
                merge(&mut object, &patch);
                if object["spec"] != before_spec {
                    let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
                    object["metadata"]["generation"] = json!(generation + 1);
                }
            }
            commit(
                &mut inner,
                &shared.events,
                &resource,
                &ns,
                "MODIFIED",
                object,
            );
            ok(inner.objects[&key].clone())
        }
        (Method::DELETE, Some(name), None) => {
            let ns = ns.unwrap_or_default().to_owned();
            let mut inner = shared.inner.lock().unwrap();
            let Some(object) = inner
                .objects
                .get(&(resource.clone(), ns.clone(), name.to_owned()))
                .cloned()
            else {
                return status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("{plural} \"{name}\" not found"),
                );
            };
            commit(
                &mut inner,
                &shared.events,
                &resource,
                &ns,
                "DELETED",
                object.clone(),
            );
            ok(object)
        }
        (method, _, _) => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{method} {path}"),
        ),
    }
}

fn serve_artifact(shared: &Shared, name: &str) -> Response {
    let served = shared.inner.lock().unwrap().files.get(name).cloned();
    match served {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Served::Whole(bytes)) => (StatusCode::OK, bytes).into_response(),
        Some(Served::Broken(bytes)) => {
            let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            let stream = futures_util::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(half),
                Err(std::io::Error::other("connection lost")),
            ]);
            (
                StatusCode::OK,
                [(header::CONTENT_LENGTH, bytes.len().to_string())],
                Body::from_stream(stream),
            )
                .into_response()
        }
    }
}

fn watch(
    shared: Arc<Shared>,
    resource: String,
    ns: Option<String>,
    query: &BTreeMap<String, String>,
) -> Response {
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0);
    let selector = query.get("labelSelector").cloned().unwrap_or_default();
    // Subscribe first, then replay: nothing falls between the two.
    let receiver = shared.events.subscribe();
    let backlog: Vec<WatchEvent> = shared
        .inner
        .lock()
        .unwrap()
        .log
        .iter()
        .filter(|e| e.rv > since)
        .cloned()
        .collect();
    let last = backlog.last().map_or(since, |e| e.rv);
    let wanted = move |e: &WatchEvent| {
        e.resource == resource
            && ns.as_ref().is_none_or(|ns| *ns == e.namespace)
            && selects(&selector, &e.object)
    };
    let line =
        |e: &WatchEvent| Bytes::from(format!("{}\n", json!({"type": e.kind, "object": e.object})));
    let replay: Vec<Result<Bytes, std::io::Error>> = backlog
        .iter()
        .filter(|e| wanted(e))
        .map(|e| Ok(line(e)))
        .collect();
    let live = futures_util::stream::unfold((receiver, last), move |(mut receiver, last)| {
        let wanted = wanted.clone();
        async move {
            loop {
                match receiver.recv().await {
                    Ok(e) if e.rv > last && wanted(&e) => {
                        let rv = e.rv;
                        return Some((Ok(line(&e)), (receiver, rv)));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter(replay), live);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
