//! Kubernetes Events (events.k8s.io/v1) about Gates and their ExternalArtifacts.
//!
//! kube-runtime's `Recorder` folds events of the same reason into one series that
//! keeps the first note: two denials in a row would show the first denial's
//! findings twice. Each judgement here gets its own event, with its own note.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Nothing to worry about.
    Normal,
    /// Something a person should look at.
    Warning,
}

/// One event to publish.
#[derive(Debug, Clone)]
pub struct Note<'a> {
    /// Normal or Warning.
    pub type_: EventType,
    /// `PascalCase`, at most 128 characters.
    pub reason: &'a str,
    /// What was done, `PascalCase`.
    pub action: &'a str,
    /// For people; at most 1 kB.
    pub note: &'a str,
}

/// Publishes events as one controller instance.
#[derive(Clone)]
pub struct Events {
    client: kube::Client,
    controller: String,
    instance: String,
}

impl Events {
    /// Events reported by `controller` (e.g. `gate-flux`) from `instance` (the pod).
    pub fn new(client: kube::Client, controller: &str, instance: Option<String>) -> Events {
        Events {
            client,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
        }
    }

    /// Publishes an event about an object. Events are for people: a failure is
    /// logged, never fatal.
    pub async fn publish(&self, regarding: &ObjectReference, note: &Note<'_>) {
        let now = Timestamp::now();
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = regarding
            .name
            .clone()
            .unwrap_or_else(|| self.controller.clone());
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{name}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(match note.type_ {
                EventType::Normal => "Normal".into(),
                EventType::Warning => "Warning".into(),
            }),
            reason: Some(note.reason.to_owned()),
            action: Some(note.action.to_owned()),
            note: Some(note.note.to_owned()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::warn!("cannot publish event {} about {name}: {e}", note.reason);
        }
    }
}
