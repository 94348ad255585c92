//! The five functions as the local stack runs them: each built by its own
//! configuration code from the environment the template gives it, resolved
//! to this stack's resources. A variable the template forgets fails here as
//! it would on Lambda.

use hitloop_core::error::Result;
use hitloop_lambda::env::Vars;
use hitloop_pipeline::steps::ingest::IngestDeps;
use hitloop_pipeline::steps::publish::PublishDeps;
use hitloop_pipeline::steps::reconcile::CollectDeps;
use hitloop_pipeline::steps::sweep::SweepDeps;
use hitloop_pipeline::steps::train::TrainDeps;

use crate::marketplace::Marketplace;
use crate::resources::StackResources;

#[derive(Clone)]
pub struct Functions {
    pub ingest: IngestDeps,
    pub publish: PublishDeps,
    pub collect: CollectDeps,
    pub sweep: SweepDeps,
    pub train: TrainDeps,
}

/// Each function's configuration, as it reads it from its environment.
pub struct Configs {
    pub ingest: ingest::config::Config,
    pub publish: publish::config::Config,
    pub collect: collect::config::Config,
    pub sweep: sweep::config::Config,
    pub train: train::config::Config,
}

impl Configs {
    pub fn of(resources: &StackResources, marketplace: &Marketplace) -> Result<Configs> {
        let env = |binary: &str| resources.env_of(binary, marketplace);
        Ok(Configs {
            ingest: ingest::config::Config::from(&Vars::Map(&env("ingest")))?,
            publish: publish::config::Config::from(&Vars::Map(&env("publish")))?,
            collect: collect::config::Config::from(&Vars::Map(&env("collect")))?,
            sweep: sweep::config::Config::from(&Vars::Map(&env("sweep")))?,
            train: train::config::Config::from(&Vars::Map(&env("train")))?,
        })
    }

    pub fn functions(&self, sdk: &hitloop_aws::SdkConfig) -> Functions {
        Functions {
            ingest: self.ingest.deps(sdk),
            publish: self.publish.deps(sdk),
            collect: self.collect.deps(sdk),
            sweep: self.sweep.deps(sdk),
            train: self.train.deps(sdk),
        }
    }
}

impl Functions {
    /// The functions of the stack that uses `marketplace`.
    pub fn of(
        resources: &StackResources,
        marketplace: &Marketplace,
        sdk: &hitloop_aws::SdkConfig,
    ) -> Result<Functions> {
        Ok(Configs::of(resources, marketplace)?.functions(sdk))
    }
}
