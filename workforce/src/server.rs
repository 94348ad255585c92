//! Putting the service together: engine, workforce, clock, notification
//! dispatcher, faults and the HTTP listener.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hitloop_core::money::Usd;
use tokio::sync::mpsc;

use crate::auth::{LocalKey, MemoryKeys, RequesterAuth, RequesterKeys};
use crate::clock::SimClock;
use crate::crowd::{Truth, Workforce, WorkforceConfig, World};
use crate::engine::{Engine, EngineConfig};
use crate::faults::{FaultInjector, RequestFaults};
use crate::model::Account;
use crate::notify::{Control, Dispatcher, Identity, NotificationFaults, NotifyStats, Sinks};
use crate::store::{MemoryStore, Store, StoreResult};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Where SQS and SNS live (moto locally); None = notifications not sent.
    pub aws_endpoint: Option<String>,
    pub region: String,
    pub workforce: Option<WorkforceConfig>,
    pub truth: Truth,
    /// Simulated seconds per real second (0 = the clock moves only when told).
    pub speed: f64,
    pub balance: Usd,
    pub seed: u64,
    pub request_faults: RequestFaults,
    pub notification_faults: NotificationFaults,
    /// Who may call the API.
    pub requesters: Requesters,
    /// Where the marketplace keeps its records: None, a new memory store
    /// holding `balance`; or a store given (the durable one), as it is.
    pub store: Option<GivenStore>,
    /// How requests take turns. A simulated crowd needs `Simulated`.
    pub turns: Turns,
    /// Answer an API request only once the notifications it caused are sent
    /// (on Lambda, where nothing runs after the answer).
    pub reply_after_delivery: bool,
    /// Who signs in to the worker site. None: the local sandbox (anyone may
    /// be any worker, and the control endpoints are served). Some: people
    /// sign in for real, and nothing unauthenticated acts for a worker (no
    /// control endpoints).
    pub worker_sign_in: Option<GivenSignIn>,
}

/// A worker sign-in the caller made (the user pool's, from its own crate).
#[derive(Clone)]
pub struct GivenSignIn(pub Arc<dyn crate::worker::auth::WorkerAuth>);

impl std::fmt::Debug for GivenSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GivenSignIn")
    }
}

/// How requests take turns with each other and with what falls due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turns {
    /// One at a time, in simulated-time order: before each request the
    /// marketplace is brought up to the clock (what fell due, the crowd's
    /// actions). A run is reproducible; the local stack's choice.
    Simulated,
    /// All at once, as a deployment serves them (the store's conditions
    /// settle races; ids are seeded from the OS, since other processes may
    /// serve the same store); what falls due is done by a pass every
    /// `pass_every` (None: by the scheduled function only) and whenever the
    /// clock is advanced.
    Concurrent { pass_every: Option<Duration> },
}

/// A store the caller made (the DynamoDB store, from its own crate).
#[derive(Clone)]
pub struct GivenStore(pub Arc<dyn Store>);

impl std::fmt::Debug for GivenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GivenStore")
    }
}

/// Who may call the requester API.
#[derive(Clone)]
pub enum Requesters {
    /// Anyone: no signature is checked. Only for a sandbox on this machine.
    Open,
    /// Requests signed (SigV4) with this key.
    Key(LocalKey),
    /// Requests signed with any active key of this store (issued by an admin).
    Store(Arc<dyn RequesterKeys>),
}

impl std::fmt::Debug for Requesters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requesters::Open => f.write_str("Open"),
            Requesters::Key(k) => f.debug_tuple("Key").field(k).finish(),
            Requesters::Store(_) => f.write_str("Store"),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            aws_endpoint: None,
            region: "us-east-1".into(),
            workforce: None,
            truth: Truth::default(),
            speed: 1.0,
            balance: Usd::from_cents(1_000_000),
            seed: 1,
            request_faults: RequestFaults::default(),
            notification_faults: NotificationFaults::default(),
            // On unless a caller opens it: the tests sign as a real client does.
            requesters: Requesters::Key(LocalKey::generate()),
            store: None,
            turns: Turns::Simulated,
            reply_after_delivery: false,
            worker_sign_in: None,
        }
    }
}

/// How long a delivery may sit in the outbox before the pass takes it for
/// lost to a crash: far longer than the dispatcher takes to send one.
pub const OUTBOX_GRACE_MS: i64 = 60_000;

/// State every request handler shares.
pub struct Shared {
    pub engine: Engine,
    /// The simulated crowd, and the turn every request waits for when turns
    /// are simulated; None when they are concurrent.
    world: Option<tokio::sync::Mutex<World>>,
    pub clock: SimClock,
    pub faults: Mutex<FaultInjector>,
    pub notification_faults: Mutex<NotificationFaults>,
    pub notify_stats: Arc<NotifyStats>,
    pub notify_control: mpsc::UnboundedSender<Control>,
    pub auth: RequesterAuth,
    pub reply_after_delivery: bool,
}

/// A request's turn at the marketplace: the engine at the clock's now, and
/// (simulated turns) the world, held until the turn drops.
pub struct Turn<'a> {
    pub engine: &'a Engine,
    world: Option<tokio::sync::MutexGuard<'a, World>>,
}

impl Turn<'_> {
    pub fn workforce(&self) -> Option<&crate::crowd::Workforce> {
        self.world.as_ref().and_then(|w| w.workforce.as_ref())
    }
}

impl Shared {
    /// Waits for a turn (simulated turns: the world, brought up to now;
    /// concurrent: at once, the engine's clock set to now).
    pub async fn turn(&self) -> Turn<'_> {
        let now = self.clock.now_ms();
        let Some(world) = &self.world else {
            self.engine.set_now(now);
            return Turn { engine: &self.engine, world: None };
        };
        let mut world = world.lock().await;
        if let Err(e) = world.advance_to(&self.engine, now).await {
            tracing::error!(error = %e, "could not bring the marketplace up to now");
        }
        Turn { engine: &self.engine, world: Some(world) }
    }

    /// Waits until every notification decided so far has been sent (a
    /// Lambda function's work must be done before it answers: it is frozen
    /// after).
    pub async fn delivered(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.notify_control.send(Control::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Does everything due by now: the scheduled function's pass. With
    /// concurrent turns it also hands over again what a crash left in the
    /// outbox, and returns how many deliveries that was.
    pub async fn pass(&self) -> StoreResult<usize> {
        if self.world.is_some() {
            drop(self.turn().await);
            return Ok(0);
        }
        let now = self.clock.now_ms();
        // The outbox is read even when the walk stopped: one need not wait for the other.
        let walked = self.engine.advance_to(now).await;
        let resent = self.engine.resend_outbox(now - OUTBOX_GRACE_MS).await;
        walked.and(resent)
    }

    /// The pass, for the local timer and the clock's control endpoint: what
    /// stops it is logged, and the next pass tries again.
    pub async fn pass_logged(&self) {
        if let Err(e) = self.pass().await {
            tracing::error!(error = %e, "the pass over what is due stopped");
        }
    }
}

pub struct Running {
    pub url: String,
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    /// The key requests must be signed with, when it was given at start.
    pub requester_key: Option<LocalKey>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Credentials an AWS SDK client signs this service's requests with: the
    /// key it was given at start, or any (right for an open service only).
    pub fn credentials(&self) -> aws_credential_types::Credentials {
        let (id, secret) = match &self.requester_key {
            Some(k) => (k.access_key_id.as_str(), k.secret_access_key.as_str()),
            None => ("open", "open"),
        };
        aws_credential_types::Credentials::new(id, secret, None, None, "hitloop-mturk")
    }

    /// Stops serving and waits for the listener to close.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (for the binary).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// SQS and SNS clients at `endpoint` (moto locally); None: nothing is sent.
pub async fn aws_sinks(endpoint: &Option<String>, region: &str) -> Sinks {
    let Some(endpoint) = endpoint else { return Sinks { sqs: None, sns: None } };
    let mut loader =
        hitloop_aws::loader().region(aws_sdk_sqs::config::Region::new(region.to_string())).endpoint_url(endpoint);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() && std::env::var_os("AWS_PROFILE").is_none() {
        // A local endpoint needs no real credentials; don't go looking for them.
        loader = loader.test_credentials();
    }
    let sdk = loader.load().await;
    Sinks { sqs: Some(aws_sdk_sqs::Client::new(&sdk)), sns: Some(aws_sdk_sns::Client::new(&sdk)) }
}

/// Starts the service on `config.bind` and returns once it is listening.
pub async fn start(config: ServerConfig) -> std::io::Result<Running> {
    let sinks = aws_sinks(&config.aws_endpoint, &config.region).await;
    let bind = config.bind;
    let requester_key = match &config.requesters {
        Requesters::Key(k) => Some(k.clone()),
        Requesters::Open | Requesters::Store(_) => None,
    };
    let sign_in = config.worker_sign_in.clone();
    let shared = build(config, sinks)?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let app = match sign_in {
        None => crate::http::router(shared.clone()),
        Some(GivenSignIn(auth)) => crate::http::site_router(shared.clone(), auth),
    };
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = shutdown_rx.await;
        });
        if let Err(e) = served.await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running { url: format!("http://{addr}"), addr, shared, requester_key, shutdown: Some(shutdown_tx), task })
}

/// The service without a listener: the engine on its store, the
/// notification dispatcher sending to `sinks`, and (when the clock runs and
/// turns are simulated or have a `pass_every`) the task that moves it on.
/// What a Lambda function serves (`http::api_router`) or runs (`Shared::pass`).
pub fn build(config: ServerConfig, sinks: Sinks) -> std::io::Result<Arc<Shared>> {
    let clock = SimClock::new(config.speed);
    let seed = match config.turns {
        Turns::Simulated => Some(config.seed),
        Turns::Concurrent { .. } => None,
    };
    let engine_config = EngineConfig { seed, ..Default::default() };
    let who = Identity { customer_id: engine_config.customer_id.clone(), account_id: engine_config.account_id.clone() };
    let store: Arc<dyn Store> = match &config.store {
        Some(GivenStore(store)) => store.clone(),
        None => Arc::new(MemoryStore::new(Account { funds: config.balance, ..Default::default() })),
    };
    let mut engine = Engine::new(store.clone(), engine_config, clock.now_ms());

    let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    engine.set_notifier(delivery_tx);
    let stats = Arc::new(NotifyStats::default());
    let dispatcher =
        Dispatcher::new(sinks, config.notification_faults.clone(), config.seed, who, stats.clone()).with_outbox(store);
    tokio::spawn(dispatcher.run(delivery_rx, control_rx));

    let workforce = config.workforce.map(|wf| Workforce::new(wf, config.truth, &engine));
    let (world, every) = match config.turns {
        Turns::Simulated => (Some(tokio::sync::Mutex::new(World { workforce })), Some(Duration::from_millis(20))),
        Turns::Concurrent { .. } if workforce.is_some() => {
            return Err(std::io::Error::other("a simulated crowd needs simulated turns"))
        }
        Turns::Concurrent { pass_every } => (None, pass_every.map(|d| d.max(Duration::from_millis(10)))),
    };
    let shared = Arc::new(Shared {
        engine,
        world,
        clock,
        faults: Mutex::new(FaultInjector::new(config.request_faults, config.seed)),
        notification_faults: Mutex::new(config.notification_faults),
        notify_stats: stats,
        notify_control: control_tx,
        auth: match &config.requesters {
            Requesters::Open => RequesterAuth::Off,
            Requesters::Key(k) => RequesterAuth::Keys(Arc::new(MemoryKeys::with_key(
                &k.access_key_id,
                &k.secret_access_key,
                "given at start",
            ))),
            Requesters::Store(keys) => RequesterAuth::Keys(keys.clone()),
        },
        reply_after_delivery: config.reply_after_delivery,
    });

    // A running clock moves the world on even when nobody calls the API.
    if let (true, Some(every)) = (config.speed > 0.0, every) {
        let ticker = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(shared) = ticker.upgrade() else { break };
                shared.pass_logged().await;
            }
        });
    }
    Ok(shared)
}
