//! The composition root: configuration from the environment, the AWS SDK set up for a
//! cold start, and the [`App`] built from them.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use latchkey_core::App;
use latchkey_domain::{Clock, SystemClock};
use latchkey_store::Table;
use latchkey_store::dynamo::DynamoTable;
#[cfg(feature = "sqlite")]
use latchkey_store::sqlite::SqliteTable;
use latchkey_vault::{DataKey, Keyring, SecretsManager, Vault, VaultMode};
use url::Url;

/// Where the state lives: `sqlite:PATH` or `dynamodb:TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    Sqlite(PathBuf),
    Dynamo(String),
}

impl FromStr for StoreSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("sqlite", path)) if !path.is_empty() => Ok(Self::Sqlite(path.into())),
            Some(("dynamodb", table)) if !table.is_empty() => Ok(Self::Dynamo(table.into())),
            _ => Err(format!("store {s:?}: use sqlite:PATH or dynamodb:TABLE")),
        }
    }
}

/// How the vault is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultSpec {
    /// `sealed`, data key in a local file (created on first use, mode 0600).
    KeyFile(PathBuf),
    /// `sealed`, data key in a Secrets Manager secret.
    SealedManagedKey { data_key_secret: String },
    /// `secretsmanager`: one secret per owner under `prefix`.
    SecretsManager {
        prefix: String,
        data_key_secret: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreSpec,
    pub vault: VaultSpec,
    /// `None`: links use each request's own address (a deployment without `PublicBaseUrl`).
    pub public_url: Option<Url>,
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

impl Settings {
    /// The Lambda configuration, from the environment the SAM template sets:
    /// `LATCHKEY_TABLE`, `LATCHKEY_VAULT_MODE` (`secretsmanager` | `sealed`),
    /// `LATCHKEY_SECRET_PREFIX`, `LATCHKEY_DATA_KEY_SECRET`, `LATCHKEY_PUBLIC_URL`.
    pub fn from_env() -> Result<Self, String> {
        let store = StoreSpec::Dynamo(env("LATCHKEY_TABLE")?);
        let vault = vault_from_env()?;
        // Empty on a first deploy: each request's own address is used (`App::public_url`).
        let public_url = match std::env::var("LATCHKEY_PUBLIC_URL").unwrap_or_default() {
            url if url.is_empty() => None,
            url => Some(Url::parse(&url).map_err(|e| format!("LATCHKEY_PUBLIC_URL: {e}"))?),
        };
        Ok(Self {
            store,
            vault,
            public_url,
        })
    }
}

/// The deployed vault configuration: `LATCHKEY_VAULT_MODE`, `LATCHKEY_SECRET_PREFIX`,
/// `LATCHKEY_DATA_KEY_SECRET`.
pub fn vault_from_env() -> Result<VaultSpec, String> {
    let data_key_secret = std::env::var("LATCHKEY_DATA_KEY_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    Ok(match env("LATCHKEY_VAULT_MODE")?.parse::<VaultMode>()? {
        VaultMode::Sealed => VaultSpec::SealedManagedKey {
            data_key_secret: data_key_secret.ok_or("sealed mode needs LATCHKEY_DATA_KEY_SECRET")?,
        },
        VaultMode::SecretsManager => VaultSpec::SecretsManager {
            prefix: std::env::var("LATCHKEY_SECRET_PREFIX").unwrap_or_else(|_| "latchkey".into()),
            data_key_secret,
        },
    })
}

/// Creates the DynamoDB table with the default AWS configuration (honours
/// `AWS_ENDPOINT_URL`, so it works against a local DynamoDB-compatible endpoint too).
pub async fn create_dynamo_table(name: &str) -> Result<(), String> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(latchkey_store::sdk::retry())
        .timeout_config(latchkey_store::sdk::timeouts())
        .load()
        .await;
    DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), name)
        .create_table()
        .await
        .map_err(|e| e.to_string())
}

/// The AWS SDK configuration. Its HTTPS client trusts the roots AWS endpoints chain to,
/// compiled in, instead of reading the OS certificate bundle (some 150 files) at every
/// cold start. Credentials in the environment (always so in Lambda) are used directly:
/// the default chain would pick them first anyway, but building it costs a cold start
/// its own STS client.
pub async fn sdk_config() -> Result<aws_config::SdkConfig, String> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let trust = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(aws_roots_pem());
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| e.to_string())?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .retry_config(latchkey_store::sdk::retry())
        .timeout_config(latchkey_store::sdk::timeouts());
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    Ok(loader.load().await)
}

/// Amazon Trust Services' roots (Amazon Root CA 1–4 and the Starfield root that
/// cross-signs them), taken from Mozilla's root store, as PEM.
fn aws_roots_pem() -> String {
    use base64::Engine;
    use memchr::memmem::Finder;
    // A byte-by-byte window search over ~150 roots was half of a cold start's instructions.
    let issuers = [
        Finder::new(b"Amazon Root CA"),
        Finder::new(b"Starfield Services Root"),
    ];
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let der: &[u8] = cert.as_ref();
        if issuers.iter().any(|i| i.find(der).is_some()) {
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in body.as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
    }
    pem
}

/// Builds the app; the AWS SDK configuration is loaded once, and only if needed.
pub async fn app(settings: Settings) -> Result<App, String> {
    app_with_clock(settings, Arc::new(SystemClock)).await
}

pub async fn app_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<App, String> {
    let needs_aws = matches!(settings.store, StoreSpec::Dynamo(_))
        || !matches!(settings.vault, VaultSpec::KeyFile(_));
    let sdk = if needs_aws {
        Some(sdk_config().await?)
    } else {
        None
    };
    app_on(settings, clock, sdk.as_ref())
}

/// The app over an SDK configuration already loaded (`None` when `settings` need no AWS);
/// the benchmark passes one whose endpoint counts the calls.
pub fn app_on(
    settings: Settings,
    clock: Arc<dyn Clock>,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<App, String> {
    let table: Arc<dyn Table> = match &settings.store {
        #[cfg(feature = "sqlite")]
        StoreSpec::Sqlite(path) => Arc::new(SqliteTable::open(path).map_err(|e| e.to_string())?),
        #[cfg(not(feature = "sqlite"))]
        StoreSpec::Sqlite(_) => {
            return Err("this build has no SQLite store: use dynamodb:TABLE".into());
        }
        StoreSpec::Dynamo(name) => Arc::new(DynamoTable::new(
            aws_sdk_dynamodb::Client::new(sdk.ok_or("dynamodb needs an SDK configuration")?),
            name.clone(),
        )),
    };
    let manager = |prefix: &str| {
        sdk.map(|sdk| SecretsManager::new(sdk, prefix))
            .ok_or("secrets manager needs an SDK configuration")
    };
    let vault = match &settings.vault {
        VaultSpec::KeyFile(path) => {
            Vault::sealed(Keyring::load_or_create(path).map_err(|e| e.to_string())?)
        }
        VaultSpec::SealedManagedKey { data_key_secret } => {
            Vault::sealed(DataKey::managed(manager("")?, data_key_secret))
        }
        VaultSpec::SecretsManager {
            prefix,
            data_key_secret,
        } => {
            // One client for both: reading the data key does not use the prefix.
            let m = manager(prefix)?;
            let key = data_key_secret
                .as_ref()
                .map(|id| DataKey::managed(m.clone(), id));
            Vault::secrets_manager(m, key)
        }
    };
    Ok(App::from_parts(table, clock, vault, settings.public_url))
}

/// Where the `sealed` mode's data keys are kept, for rotating them.
fn data_key_home(settings: &Settings) -> Result<DataKeyHome<'_>, String> {
    match &settings.vault {
        VaultSpec::KeyFile(path) => Ok(DataKeyHome::File(path)),
        VaultSpec::SealedManagedKey { data_key_secret }
        | VaultSpec::SecretsManager {
            data_key_secret: Some(data_key_secret),
            ..
        } => Ok(DataKeyHome::Secret(data_key_secret)),
        VaultSpec::SecretsManager { .. } => {
            Err("this vault keeps its secrets in Secrets Manager and has no data key".into())
        }
    }
}

enum DataKeyHome<'a> {
    File(&'a PathBuf),
    Secret(&'a str),
}

/// Rewrites the data-key text (one base64 key a line, the current one first) where
/// `settings` keep it: the key file (replaced atomically, mode 0600) or the data-key
/// secret (a new version). `change` gets the text as it is.
pub async fn change_data_keys(
    settings: &Settings,
    change: impl FnOnce(&str) -> Result<String, String>,
) -> Result<(), String> {
    match data_key_home(settings)? {
        DataKeyHome::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("key file {}: {e}", path.display()))?;
            let next = change(&text)?;
            let temporary = path.with_extension("rotating");
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let write = |mut file: std::fs::File| {
                std::io::Write::write_all(&mut file, next.as_bytes())?;
                file.sync_all()
            };
            options
                .open(&temporary)
                .and_then(write)
                .and_then(|()| std::fs::rename(&temporary, path))
                .map_err(|e| format!("key file {}: {e}", path.display()))
        }
        DataKeyHome::Secret(secret_id) => {
            let sdk = sdk_config().await?;
            let manager = SecretsManager::new(&sdk, "");
            let text = manager
                .data_key_text(secret_id)
                .await
                .map_err(|e| e.to_string())?;
            let next = change(&text)?;
            manager
                .set_data_key_text(secret_id, &next)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_trusts_the_amazon_roots_and_only_those() {
        let pem = aws_roots_pem();
        assert_eq!(
            pem.matches("-----BEGIN CERTIFICATE-----").count(),
            5,
            "{pem}"
        );
        // Each block is valid base64 DER of a certificate naming its issuer.
        use base64::Engine;
        let mut names = Vec::new();
        for block in pem
            .split("-----END CERTIFICATE-----\n")
            .filter(|b| !b.is_empty())
        {
            let body: String = block
                .trim_start_matches("-----BEGIN CERTIFICATE-----\n")
                .split('\n')
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap();
            names.push(
                [
                    "Amazon Root CA 1",
                    "Amazon Root CA 2",
                    "Amazon Root CA 3",
                    "Amazon Root CA 4",
                    "Starfield Services Root",
                ]
                .into_iter()
                .find(|n| der.windows(n.len()).any(|w| w == n.as_bytes()))
                .expect("an AWS root"),
            );
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5, "{names:?}");
    }
}
