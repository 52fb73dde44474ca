//! What every handler shares, and how use cases leave the async executor.

use std::sync::Arc;

use actix_web::web;
use infra::secrets::SecretHasher;
use infra::PgStore;
use orgd_domain::apikey::ApiKeyService;
use orgd_domain::audit::AuditService;
use orgd_domain::dashboard::DashboardService;
use orgd_domain::events::EventService;
use orgd_domain::idempotency::IdempotencyService;
use orgd_domain::invite::{InviteService, InviteSettings};
use orgd_domain::join::JoinService;
use orgd_domain::llm::LlmService;
use orgd_domain::member::MemberService;
use orgd_domain::notification::NotificationService;
use orgd_domain::org::OrgService;
use orgd_domain::platform::PlatformService;
use orgd_domain::policy::{MfaService, Plan, PolicyService};
use orgd_domain::role::RoleService;
use orgd_domain::scim::{ScimProvisioning, ScimService};
use orgd_domain::spend::SpendService;
use orgd_domain::sso::{SecretBox, SsoService};
use orgd_domain::team::TeamService;
use orgd_domain::time::{Clock, SystemClock};
use orgd_domain::verified_domain::{DomainService, TxtResolver};
use orgd_domain::webhooks::{DestinationGuard, WebhookService};
use orgd_domain::{Store, StoreError};

use crate::auth::JwtVerifier;
use crate::error::ApiError;
use crate::use_case_threads::{NoAnswer, UseCaseThreads};

/// The use cases, wired to their adapters.
pub struct Services {
    pub orgs: OrgService<PgStore>,
    pub members: MemberService<PgStore>,
    pub roles: RoleService<PgStore>,
    pub teams: TeamService<PgStore>,
    pub api_keys: ApiKeyService<PgStore>,
    pub audit: AuditService<PgStore>,
    pub invites: InviteService<PgStore>,
    pub policies: PolicyService<PgStore>,
    pub mfa: MfaService<PgStore>,
    pub notifications: NotificationService<PgStore>,
    pub sso: SsoService<PgStore>,
    pub scim: ScimService<PgStore>,
    /// The `/scim/v2` protocol.
    pub directory: ScimProvisioning<PgStore>,
    pub domains: DomainService<PgStore>,
    pub joins: JoinService<PgStore>,
    /// Platform staff's `/v1/admin`.
    pub platform: PlatformService<PgStore>,
    pub llm: LlmService<PgStore>,
    pub spend: SpendService<PgStore>,
    pub dashboard: DashboardService<PgStore>,
    pub events: EventService<PgStore>,
    pub webhooks: WebhookService<PgStore>,
    /// Keeps and replays responses to requests sent with an `Idempotency-Key`.
    pub idempotency: IdempotencyService<PgStore>,
    pub store: PgStore,
}

/// The adapters use cases reach beyond the database.
pub struct Adapters {
    /// Encrypts secrets that must be read back.
    pub secrets: Arc<dyn SecretBox>,
    /// Looks domain ownership records up.
    pub resolver: Arc<dyn TxtResolver>,
    /// Tells which webhook destinations may be called.
    pub guard: Arc<dyn DestinationGuard>,
}

impl Services {
    /// `public_url` is where people open the product; reminder emails link to it.
    pub fn new(
        store: PgStore,
        hasher: SecretHasher,
        invites: InviteSettings,
        default_plan: Plan,
        public_url: &str,
        adapters: Adapters,
    ) -> Self {
        let Adapters { secrets, resolver, guard } = adapters;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let minter = Arc::new(hasher);
        Self {
            orgs: OrgService::new(store.clone(), clock.clone()).with_default_plan(default_plan),
            members: MemberService::new(store.clone(), clock.clone()),
            roles: RoleService::new(store.clone(), clock.clone()),
            teams: TeamService::new(store.clone(), clock.clone()),
            api_keys: ApiKeyService::new(store.clone(), clock.clone(), minter.clone()),
            invites: InviteService::new(store.clone(), clock.clone(), minter.clone(), invites),
            sso: SsoService::new(store.clone(), clock.clone(), Arc::clone(&secrets)),
            events: EventService::new(store.clone(), clock.clone()),
            webhooks: WebhookService::new(store.clone(), clock.clone(), minter.clone(), Arc::clone(&secrets), guard),
            idempotency: IdempotencyService::new(store.clone(), clock.clone(), secrets),
            scim: ScimService::new(store.clone(), clock.clone(), minter.clone()),
            directory: ScimProvisioning::new(store.clone(), clock.clone()),
            policies: PolicyService::new(store.clone(), clock.clone()),
            mfa: MfaService::new(store.clone(), clock.clone(), public_url),
            notifications: NotificationService::new(store.clone(), clock.clone()),
            domains: DomainService::new(store.clone(), clock.clone(), resolver),
            joins: JoinService::new(store.clone(), clock.clone()),
            platform: PlatformService::new(store.clone(), clock.clone()),
            llm: LlmService::new(store.clone(), clock.clone()),
            spend: SpendService::new(store.clone(), clock.clone()),
            dashboard: DashboardService::new(store.clone(), clock.clone()),
            audit: AuditService::new(store.clone(), clock),
            store,
        }
    }
}

pub struct AppState {
    services: Arc<Services>,
    verifier: JwtVerifier,
    hasher: SecretHasher,
    trust_forwarded_for: bool,
    /// One per database connection.
    threads: UseCaseThreads,
}

impl AppState {
    /// Starts a use-case thread for each of the store's `connections`; a use case waits for
    /// one at most `pool_timeout`, as long as for a connection.
    pub fn new(
        services: Services,
        verifier: JwtVerifier,
        hasher: SecretHasher,
        trust_forwarded_for: bool,
        (connections, pool_timeout): (u32, std::time::Duration),
    ) -> std::io::Result<Self> {
        let threads = UseCaseThreads::start(usize::try_from(connections).unwrap_or(1), pool_timeout)?;
        Ok(Self { services: Arc::new(services), verifier, hasher, trust_forwarded_for, threads })
    }

    pub fn verifier(&self) -> &JwtVerifier {
        &self.verifier
    }

    /// Hashes presented API keys the way stored ones were.
    pub fn hasher(&self) -> &SecretHasher {
        &self.hasher
    }

    pub fn trust_forwarded_for(&self) -> bool {
        self.trust_forwarded_for
    }

    /// Runs a use case on a use-case thread: diesel is synchronous and must never hold an
    /// actix worker.
    pub async fn run<T, E>(&self, work: impl FnOnce(&Services) -> Result<T, E> + Send + 'static) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        self.blocking(work).await?.map_err(Into::into)
    }

    /// [`run`](Self::run) for a use case whose errors the route maps itself. Within a
    /// request holding an idempotency key, the use case joins the request's transaction.
    pub async fn blocking<T>(&self, work: impl FnOnce(&Services) -> T + Send + 'static) -> Result<T, ApiError>
    where
        T: Send + 'static,
    {
        let services = Arc::clone(&self.services);
        match crate::idempotency::joined_transaction() {
            // Holding its connection already, the request must not queue behind use cases
            // that wait for one: it runs on the blocking pool.
            Some(outer) => web::block(move || outer.join(|| work(&services)))
                .await
                .map_err(|e| ApiError::saturated(format!("blocking pool: {e}"))),
            None => self.threads.run(move || work(&services)).await.map_err(|e| match e {
                NoAnswer::Overloaded(_) => StoreError::Unavailable(e.to_string()).into(),
                NoAnswer::Lost => ApiError::internal(e.to_string()),
            }),
        }
    }

    /// Answers from memory on the calling worker when `from_memory` can (it returns `Some`
    /// without blocking: no connection, no lock held long), else runs `work` as
    /// [`run`](Self::run) does; both are given `input`. A hand-off to a use-case thread and
    /// back costs more than such an answer. Within a request holding an idempotency key,
    /// `work` always runs, in the request's transaction.
    pub async fn run_from_memory<I, T, E>(
        &self,
        input: I,
        from_memory: impl FnOnce(&Services, &I) -> Option<Result<T, E>>,
        work: impl FnOnce(&Services, &I) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        I: Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        if crate::idempotency::joined_transaction().is_none() {
            if let Some(answer) = from_memory(&self.services, &input) {
                return answer.map_err(Into::into);
            }
        }
        self.run(move |s| work(s, &input)).await
    }

    pub async fn ping(&self) -> Result<(), ApiError> {
        self.run(|s| s.store.ping()).await
    }
}
