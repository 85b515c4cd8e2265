//! Reading an `admission.k8s.io/v1` AdmissionReview: what is judged, and the
//! facts about the request that the engine and the logs need.

use gate_core::{Admission, Operation};
use kube::core::DynamicObject;
use kube::core::admission::{self, AdmissionRequest, AdmissionReview};
use serde_json::Value;

/// The only review version served (the webhook configuration asks for it alone).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// The name that stands in for a file in positions: errors about the object
/// read `admission:1: ...` in reports, and the webhook strips it from answers.
pub const ORIGIN: &str = "admission";

/// A request the webhook can judge. No `Debug`: it holds the object, which
/// must never reach a log.
pub struct Review {
    /// The request as the API server sent it, minus the objects.
    pub request: AdmissionRequest<DynamicObject>,
    /// The operation.
    pub operation: Operation,
    /// The object to judge: `object`, or `oldObject` on DELETE.
    pub object: Value,
    /// The stored object, on UPDATE and DELETE.
    pub old_object: Option<Value>,
}

impl Review {
    /// The admission facts the engine hands to policies.
    pub fn admission(&self) -> Admission {
        Admission {
            operation: self.operation,
            old_object: self.old_object.clone(),
        }
    }

    /// The operation's name, as the API server writes it.
    pub fn operation_name(&self) -> &'static str {
        operation_name(self.operation)
    }
}

/// The API server's name of an operation.
pub fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}

/// Why a body is not a review the webhook can judge (an HTTP 400).
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a request body.
pub fn parse(body: &[u8]) -> Result<Review, Malformed> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body)
        .map_err(|e| Malformed(format!("the body is not an AdmissionReview: {e}")))?;
    if review.types.api_version != API_VERSION || review.types.kind != "AdmissionReview" {
        return Err(Malformed(format!(
            "expected apiVersion {API_VERSION} and kind AdmissionReview, found {:?} {:?}",
            review.types.api_version, review.types.kind
        )));
    }
    let mut request: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| Malformed("the AdmissionReview has no request".into()))?;
    if request.uid.is_empty() {
        return Err(Malformed("request.uid is empty".into()));
    }
    let operation = match request.operation {
        admission::Operation::Create => Operation::Create,
        admission::Operation::Update => Operation::Update,
        admission::Operation::Delete => Operation::Delete,
        admission::Operation::Connect => Operation::Connect,
    };
    let object = request.object.take().map(to_value).transpose()?;
    let old_object = request.old_object.take().map(to_value).transpose()?;
    let (object, field) = match operation {
        Operation::Delete => (old_object.clone(), "oldObject"),
        _ => (object, "object"),
    };
    let object = object.ok_or_else(|| {
        Malformed(format!(
            "request.{field} is missing: a {} request carries the object it is about",
            operation_name(operation)
        ))
    })?;
    Ok(Review {
        request,
        operation,
        object,
        old_object,
    })
}

fn to_value(object: DynamicObject) -> Result<Value, Malformed> {
    serde_json::to_value(object)
        .map_err(|e| Malformed(format!("the object cannot be read back as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn review(request: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": API_VERSION, "kind": "AdmissionReview", "request": request
        }))
        .unwrap()
    }

    /// The refusal. `Review` has no `Debug` on purpose: it holds the object.
    fn refused(result: Result<Review, Malformed>) -> Malformed {
        match result {
            Ok(_) => panic!("expected a refusal"),
            Err(e) => e,
        }
    }

    fn request(operation: &str) -> Value {
        json!({
            "uid": "u-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "team",
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
            "oldObject": null,
        })
    }

    #[test]
    fn reads_a_create_and_keeps_the_object_as_sent() {
        let r = parse(&review(request("CREATE"))).unwrap();
        assert_eq!(r.operation, Operation::Create);
        assert_eq!(r.request.uid, "u-1");
        assert_eq!(r.object["spec"]["containers"][0]["image"], "i");
        assert_eq!(r.object["metadata"]["labels"]["a"], "b");
        assert_eq!(r.object["kind"], "Pod");
        assert!(r.old_object.is_none());
    }

    #[test]
    fn a_delete_is_about_the_old_object() {
        let mut req = request("DELETE");
        req["oldObject"] = req["object"].take();
        let r = parse(&review(req)).unwrap();
        assert_eq!(r.operation, Operation::Delete);
        assert_eq!(r.object["metadata"]["name"], "p");
        assert_eq!(r.admission().old_object.unwrap()["metadata"]["name"], "p");
    }

    #[test]
    fn refuses_what_is_not_a_v1_review() {
        let err = refused(parse(b"{not json"));
        assert!(err.0.contains("not an AdmissionReview"), "{err}");
        let mut v1beta1: Value = serde_json::from_slice(&review(request("CREATE"))).unwrap();
        v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
        let err = refused(parse(&serde_json::to_vec(&v1beta1).unwrap()));
        assert!(err.0.contains("admission.k8s.io/v1beta1"), "{err}");
        let err = refused(parse(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
        ));
        assert!(err.0.contains("no request"), "{err}");
    }

    #[test]
    fn refuses_a_create_without_an_object_and_an_empty_uid() {
        let mut req = request("CREATE");
        req["object"] = Value::Null;
        assert!(
            refused(parse(&review(req)))
                .0
                .contains("request.object is missing")
        );
        let mut req = request("CREATE");
        req["uid"] = json!("");
        assert!(refused(parse(&review(req))).0.contains("uid"));
    }
}
