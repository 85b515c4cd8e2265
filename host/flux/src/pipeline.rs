//! From a source artifact to a judged render: download and verify, extract,
//! render, judge. The controller and `gate flux check` run the same steps.

use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::extract::{Limits, extract};
use crate::fetch::{FetchOptions, Fetcher};
use crate::judge::{Judgement, judge};
use gate_engine::evaluate::EvaluateOptions;
use gate_engine::loader::LoadedBundle;
use gate_engine::render::RenderOptions;
use gate_runtime::Runtime;
use std::path::PathBuf;
use std::sync::Arc;

/// The steps between a source artifact and a judgement, with their limits.
#[derive(Debug, Clone)]
pub struct Pipeline {
    fetcher: Fetcher,
    limits: Limits,
    render: RenderOptions,
    work_dir: PathBuf,
}

/// One source artifact to judge.
#[derive(Debug, Clone)]
pub struct Request {
    /// `status.artifact.url`.
    pub url: String,
    /// `status.artifact.digest`.
    pub digest: String,
    /// The directory of the artifact to render.
    pub path: String,
}

impl Pipeline {
    /// A pipeline that downloads and extracts under `work_dir`.
    pub fn new(
        fetch: FetchOptions,
        limits: Limits,
        render: RenderOptions,
        work_dir: PathBuf,
    ) -> Result<Pipeline> {
        std::fs::create_dir_all(&work_dir).map_err(Error::io("create", &work_dir))?;
        Ok(Pipeline {
            fetcher: Fetcher::new(fetch)?,
            limits,
            render,
            work_dir,
        })
    }

    /// Downloads the artifact, verifies its digest before reading it, extracts it
    /// safely, renders the path and judges the render with the bundle.
    pub async fn run(
        &self,
        request: &Request,
        runtime: Arc<Runtime>,
        bundle: Arc<LoadedBundle>,
        options: EvaluateOptions,
    ) -> Result<Judgement> {
        let expected = Sha256Digest::parse(&request.digest)?;
        let verified = self
            .fetcher
            .fetch(&request.url, &expected, &self.work_dir)
            .await?;
        let (limits, render, work_dir) = (self.limits, self.render.clone(), self.work_dir.clone());
        let path = request.path.clone();
        tokio::task::spawn_blocking(move || {
            let tree = extract(&verified.file, &work_dir, &limits)?;
            drop(verified);
            judge(tree.root(), &path, &runtime, &bundle, &options, &render)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }
}
