use latchkey_store::{Accounts, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use latchkey::{gateway, nango};
use latchkey_api::{ApiKeyView, Timestamp};
use latchkey_connect::connections::{RunOptions, run as run_refresh};
use latchkey_core::App;
use latchkey_core::accounts::{create_account, create_api_key, revoke_api_key};
use latchkey_core::catalog::{CatalogError, Synced, create_integration, sync_builtins};
use latchkey_core::rekey::{Resealed, reseal_account};
use latchkey_core::status::{Counts, account_status, reindex};
use latchkey_domain::AccountId;
use latchkey_domain::{IntegrationInput, NewApiKey};
use latchkey_vault::{Keyring, SealingKey};
use latchkey_web::setup::{
    Settings, StoreSpec, VaultSpec, change_data_keys, create_dynamo_table, vault_from_env,
};
use url::Url;

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: local gateway and administration"
)]
struct Cli {
    /// Where state lives: sqlite:PATH (default: DATA_DIR/latchkey.db) or dynamodb:TABLE.
    /// With DynamoDB the vault follows LATCHKEY_VAULT_MODE, LATCHKEY_SECRET_PREFIX and
    /// LATCHKEY_DATA_KEY_SECRET, as in a deployment.
    #[arg(long, global = true, env = "LATCHKEY_STORE")]
    store: Option<StoreSpec>,
    /// Local data folder: the SQLite file and the sealing key file (mode 0600).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_DATA_DIR",
        default_value = ".latchkey"
    )]
    data_dir: PathBuf,
    /// With --store dynamodb:…, keep secrets sealed with DATA_DIR/sealing.key instead of
    /// the deployment's vault. The deployed functions cannot open them: only for a table
    /// that only this machine uses.
    #[arg(long, global = true)]
    local_key: bool,
    /// Let integrations, the proxy and webhooks reach loopback and private addresses
    /// (providers or mocks on this machine or network). Off by default; refused with a
    /// `dynamodb:` store and, for `serve`, with a non-loopback `--addr`.
    #[arg(long, global = true)]
    allow_private_egress: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route on one local port, with the embedded store by default.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: SocketAddr,
        /// Base URL of links handed out (default: http://ADDR/).
        #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
        public_url: Option<Url>,
        /// Seconds between refresh runs (as the deployed EventBridge schedule; 0: never).
        #[arg(long, default_value_t = 300)]
        refresh_every: u64,
        /// Send reminder emails through this SMTP relay, HOST:PORT (plain SMTP, e.g. a
        /// local mail catcher). Without it, reminders wait unsent.
        #[arg(long, env = "LATCHKEY_SMTP")]
        smtp: Option<String>,
        /// The sender address of reminder emails.
        #[arg(
            long,
            env = "LATCHKEY_MAIL_FROM",
            default_value = "reminders@localhost"
        )]
        mail_from: String,
    },
    /// Run the scheduled refresh job: refresh due connections, deliver due webhooks.
    Refresh {
        /// One run, then exit (the only mode; the gateway runs it on a timer).
        #[arg(long, required = true)]
        once: bool,
        /// Refreshes in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Manage accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Manage API keys.
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// Manage integrations.
    Integrations {
        #[command(subcommand)]
        command: IntegrationsCommand,
    },
    /// The built-in catalog.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// What an operator looks at first: an account's connections by status and
    /// integration, its webhook backlog, and when its next refresh is due.
    Status {
        #[arg(long)]
        account: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Once after upgrading from a release without `GET /v1/connections`: puts the
    /// account's existing connections in the inventory.
    Reindex {
        #[arg(long)]
        account: String,
    },
    /// Create the DynamoDB table (for --store dynamodb:TABLE outside SAM, e.g. tests).
    CreateTable,
    /// The `sealed` vault's data keys.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
}

#[derive(Subcommand)]
enum VaultCommand {
    /// A new data key becomes current (the old one still opens what it sealed), then
    /// every account's sealed secrets are sealed again under it.
    RotateKey,
    /// Seals again anything still under a retired key, then drops the retired keys, but
    /// only when nothing is left under them. On AWS, run it at least five minutes after
    /// `rotate-key` (a warm function reads the keys again within five minutes).
    RetireKeys,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Create an account with the built-in catalog and print its first API key.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ApiKeysCommand {
    /// Create another API key for an account; it is printed once.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        label: Option<String>,
        /// `full` (default) or `connect` (consumers, links, connection status only).
        #[arg(long, default_value = "full")]
        scope: String,
        /// RFC 3339 time after which the key stops working (default: never).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List an account's API keys (never the keys themselves).
    List {
        #[arg(long)]
        account: String,
    },
    /// Revoke an API key by its id (`key_…`); effective on the next request.
    Revoke {
        #[arg(long)]
        account: String,
        id: String,
        /// Also when it is the account's last full-scope key.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// After an upgrade: give accounts this release's new built-ins and update the ones
    /// they never edited (OAuth apps, status and edited built-ins are left as they are).
    Sync {
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        account: Option<String>,
        /// Every account.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum IntegrationsCommand {
    /// Import custom integrations: Latchkey's JSON (one object or an array), or the
    /// entries Latchkey can run from a copy of Nango's providers.yaml.
    Import {
        file: PathBuf,
        #[arg(long)]
        account: String,
        #[arg(long, value_enum, default_value_t = ImportFormat::Json)]
        format: ImportFormat,
        /// Only these entries (keys in the file), comma-separated.
        #[arg(long, value_delimiter = ',')]
        only: Option<Vec<String>>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    Json,
    Nango,
}

fn settings(cli: &Cli, public_url: Url) -> Result<Settings, String> {
    if cli.allow_private_egress && matches!(cli.store, Some(StoreSpec::Dynamo(_))) {
        return Err(
            "--allow-private-egress is for local use: a dynamodb: store is a deployment's".into(),
        );
    }
    let store = cli
        .store
        .clone()
        .unwrap_or_else(|| StoreSpec::Sqlite(cli.data_dir.join("latchkey.db")));
    let vault = match &store {
        StoreSpec::Sqlite(_) => VaultSpec::KeyFile(cli.data_dir.join("sealing.key")),
        StoreSpec::Dynamo(_) if cli.local_key => VaultSpec::KeyFile(cli.data_dir.join("sealing.key")),
        // A key file here would seal client secrets the deployed functions cannot open.
        StoreSpec::Dynamo(_) => vault_from_env().map_err(|e| {
            format!(
                "{e}: with --store dynamodb:… use the deployment's vault (LATCHKEY_VAULT_MODE=sealed \
                 with LATCHKEY_DATA_KEY_SECRET, or LATCHKEY_VAULT_MODE=secretsmanager with \
                 LATCHKEY_SECRET_PREFIX), or pass --local-key for a table only this machine uses"
            )
        })?,
    };
    Ok(Settings {
        store,
        vault,
        public_url: Some(public_url),
    })
}

/// `latchkey api-keys …`: the same rules as `/v1/api-keys`.
async fn api_keys(app: &App, command: &ApiKeysCommand) -> Result<(), String> {
    let exists = |account: &str| {
        let account = AccountId::from(account);
        async move { existing(app, &account).await.map(|()| account) }
    };
    match command {
        ApiKeysCommand::Create {
            account,
            label,
            scope,
            expires_at,
        } => {
            let account = exists(account).await?;
            let scope = serde_json::from_value(serde_json::json!(scope))
                .map_err(|_| format!("--scope {scope}: use full or connect"))?;
            let input = NewApiKey {
                label: label.clone(),
                scopes: Some(vec![scope]),
                expires_at: expires_at.clone(),
            };
            let (key, secret) = create_api_key(&app.store, &account, input)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "key id: {}\napi key: {}\n(the key is shown only now)",
                key.id,
                secret.expose()
            );
        }
        ApiKeysCommand::List { account } => {
            let account = exists(account).await?;
            let keys = app
                .store
                .api_keys(&account)
                .await
                .map_err(|e| e.to_string())?;
            let views: Vec<ApiKeyView> = keys.iter().map(|k| (&k.value).into()).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&views).map_err(|e| e.to_string())?
            );
        }
        ApiKeysCommand::Revoke { account, id, force } => {
            let account = exists(account).await?;
            revoke_api_key(&app.store, &account, id, *force)
                .await
                .map_err(|e| e.to_string())?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    latchkey_web::telemetry::init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("latchkey: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let default_url = Url::parse("http://127.0.0.1:8787/").expect("static URL");
    match &cli.command {
        Command::Serve {
            addr,
            public_url,
            refresh_every,
            smtp,
            mail_from,
        } => {
            let (listener, local) = gateway::bind(*addr)
                .await
                .map_err(|e| format!("bind {addr}: {e}"))?;
            let public_url = match public_url {
                Some(url) => url.clone(),
                None => Url::parse(&format!("http://{local}/")).map_err(|e| e.to_string())?,
            };
            if cli.allow_private_egress && !addr.ip().is_loopback() {
                return Err(format!(
                    "--allow-private-egress serves only on a loopback --addr (not {addr}): \
                     anyone reaching it could read this network's private services through the proxy"
                ));
            }
            let mut app = latchkey_web::setup::app(settings(&cli, public_url)?).await?;
            app.allow_loopback = cli.allow_private_egress;
            let mailer = match smtp {
                Some(relay) => Some(
                    latchkey_mail::Mailer::smtp(relay, mail_from)
                        .map_err(|e| format!("--smtp {relay}: {e}"))?,
                ),
                None => None,
            };
            first_start(&app, &cli.data_dir).await?;
            println!(
                "Console: {}console/ (sign in with a full-scope API key)",
                app.public_url()
            );
            // The last line of the start: scripts (and the tests) read up to it and may
            // close the pipe, so nothing is printed after it.
            println!("Latchkey is serving on http://{local}");
            let app = Arc::new(app);
            if *refresh_every > 0 {
                gateway::refresh_timer(app.clone(), Duration::from_secs(*refresh_every), mailer);
            }
            gateway::serve(listener, app)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Refresh { concurrency, .. } => {
            let mut app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            app.allow_loopback = cli.allow_private_egress;
            let options = RunOptions {
                concurrency: *concurrency,
                ..RunOptions::default()
            };
            let report = run_refresh(&app, options)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Accounts {
            command: AccountsCommand::Create { name },
        } => {
            let app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            let (account, key) = create_account(&app.store, name)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "account: {}\napi key: {}\n(the key is shown only now)",
                account.id,
                key.expose()
            );
            Ok(())
        }
        Command::ApiKeys { command } => {
            let app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            api_keys(&app, command).await
        }
        Command::Integrations {
            command:
                IntegrationsCommand::Import {
                    file,
                    account,
                    format,
                    only,
                },
        } => {
            let app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            match (format, only) {
                (ImportFormat::Json, None) => import(&app, file, account).await,
                (ImportFormat::Json, Some(_)) => Err("--only is for --format nango".into()),
                (ImportFormat::Nango, only) => {
                    let only: Option<BTreeSet<String>> =
                        only.clone().map(|o| o.into_iter().collect());
                    import_nango(&app, file, account, only.as_ref()).await
                }
            }
        }
        Command::Catalog {
            command: CatalogCommand::Sync { account, all },
        } => {
            let app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            let accounts = match (account, all) {
                (Some(account), _) => {
                    let account = AccountId::from(account.as_str());
                    existing(&app, &account).await?;
                    vec![account]
                }
                (None, _) => app
                    .store
                    .accounts()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|a| a.value.id)
                    .collect(),
            };
            for account in accounts {
                let synced = sync_builtins(&app.store, &app.vault, &account)
                    .await
                    .map_err(|e| format!("{account}: {e}"))?;
                println!("{account}: {}", said_synced(&synced));
            }
            Ok(())
        }
        Command::Status { account, json } => {
            let app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            status(&app, &AccountId::from(account.as_str()), *json).await
        }
        Command::Reindex { account } => {
            let app = latchkey_web::setup::app(settings(&cli, default_url)?).await?;
            let account = AccountId::from(account.as_str());
            existing(&app, &account).await?;
            let count = reindex(&app.store, &account)
                .await
                .map_err(|e| e.to_string())?;
            println!("reindexed {count} connections of {account}");
            Ok(())
        }
        Command::Vault { command } => {
            let settings = settings(&cli, default_url)?;
            match command {
                VaultCommand::RotateKey => {
                    let fresh = SealingKey::generate_base64();
                    change_data_keys(&settings, |text| Ok(format!("{fresh}\n{}", text.trim())))
                        .await?;
                    let (keys, resealed) = reseal_all(settings).await?;
                    let ids = keys.ids();
                    println!(
                        "data key {} is current (retired: {}); {}",
                        ids[0],
                        ids[1..].join(", "),
                        said(&resealed)
                    );
                    Ok(())
                }
                VaultCommand::RetireKeys => {
                    let (keys, resealed) = reseal_all(settings.clone()).await?;
                    if resealed.changed > 0 {
                        return Err(format!(
                            "{}: run retire-keys again to check them",
                            said(&resealed)
                        ));
                    }
                    let retired = keys.ids().len() - 1;
                    change_data_keys(&settings, |text| {
                        Ok(text
                            .lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("")
                            .to_owned())
                    })
                    .await?;
                    println!("{}; {retired} retired keys dropped", said(&resealed));
                    Ok(())
                }
            }
        }
        Command::CreateTable => match &cli.store {
            Some(StoreSpec::Dynamo(table)) => {
                create_dynamo_table(table).await?;
                println!("created table {table}");
                Ok(())
            }
            _ => Err("create-table needs --store dynamodb:TABLE".into()),
        },
    }
}

/// On the first start of a local data folder: an account and a ready API key.
async fn first_start(app: &App, data_dir: &Path) -> Result<(), String> {
    let marker = data_dir.join("local-account");
    // With a DynamoDB store and a managed key, nothing else has made the folder yet.
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    if marker.exists() {
        let id = std::fs::read_to_string(&marker).map_err(|e| e.to_string())?;
        println!(
            "Local account {} (API key printed on first start; more with `latchkey api-keys create --account {}`)",
            id.trim(),
            id.trim()
        );
        return Ok(());
    }
    let (account, key) = create_account(&app.store, "Local")
        .await
        .map_err(|e| e.to_string())?;
    std::fs::write(&marker, account.id.as_str()).map_err(|e| e.to_string())?;
    println!(
        "Created local account {}.\nAPI key (shown once): {}",
        account.id,
        key.expose()
    );
    Ok(())
}

/// The account `id`, or an error saying there is none (never a silent no-op).
async fn existing(app: &App, id: &AccountId) -> Result<(), String> {
    match app.store.account(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!("no account {id}")),
        Err(e) => Err(e.to_string()),
    }
}

fn said_synced(s: &Synced) -> String {
    let listed = |keys: &[String]| {
        if keys.is_empty() {
            String::new()
        } else {
            format!(" ({})", keys.join(", "))
        }
    };
    format!(
        "{} added, {} updated{}, {} current, {} edited and left alone{}, {} whose key a custom integration uses{}",
        s.added.len(),
        s.updated.len(),
        listed(&s.updated),
        s.current,
        s.edited.len(),
        listed(&s.edited),
        s.key_taken.len(),
        listed(&s.key_taken),
    )
}

/// `latchkey status`: the numbers an operator looks for first.
async fn status(app: &App, account: &AccountId, json: bool) -> Result<(), String> {
    existing(app, account).await?;
    let status = account_status(&app.store, account)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let text = serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    let counts = |c: &Counts| {
        format!(
            "{} ({} active, {} needs_reauth, {} error)",
            c.total, c.active, c.needs_reauth, c.error
        )
    };
    println!("Account {account}");
    println!("Connections: {}", counts(&status.connections));
    for line in status.integrations.values() {
        println!("  {:<24} {}", line.name, counts(&line.connections));
    }
    let at = |t: Option<i64>| t.map_or("none".to_owned(), |t| Timestamp(t).to_string());
    println!(
        "Webhook backlog: {} (oldest due {})",
        status.webhook_backlog,
        at(status.oldest_webhook_due_at)
    );
    println!("Next refresh due: {}", at(status.next_refresh_due_at));
    Ok(())
}

async fn import(app: &App, file: &Path, account: &str) -> Result<(), String> {
    let account = &AccountId::from(account);
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    existing(app, account).await?;
    for (i, item) in items.into_iter().enumerate() {
        let input: IntegrationInput =
            serde_json::from_value(item).map_err(|e| format!("[{i}]: {e}"))?;
        let integration = create_integration(&app.store, &app.vault, account, input, None)
            .await
            .map_err(|e| format!("[{i}]: {e}"))?;
        println!("{} {}", integration.id, integration.key);
    }
    Ok(())
}

/// `--format nango`: imports what maps, then one line per skipped entry and the counts.
async fn import_nango(
    app: &App,
    file: &Path,
    account: &str,
    only: Option<&BTreeSet<String>>,
) -> Result<(), String> {
    let account = &AccountId::from(account);
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mapped = nango::map(&text, only).map_err(|e| format!("{}: {e}", file.display()))?;
    existing(app, account).await?;
    let mut skipped = mapped.skipped;
    let mut imported = 0;
    for input in mapped.imported {
        let key = input.key.clone();
        match create_integration(&app.store, &app.vault, account, input, None).await {
            Ok(integration) => {
                imported += 1;
                println!("imported {key} as {}", integration.id);
            }
            Err(CatalogError::Store(StoreError::Duplicate(_))) => {
                let detail = "the account already has an integration with this key".to_owned();
                skipped.push((
                    key,
                    nango::Skip {
                        kind: "key in use",
                        detail,
                    },
                ));
            }
            Err(e) => return Err(format!("{key}: {e}")),
        }
    }
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, why) in &skipped {
        println!("skipped {name}: {} ({})", why.kind, why.detail);
        *by_kind.entry(why.kind).or_default() += 1;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    println!(
        "{imported} imported, {} skipped{}",
        skipped.len(),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    Ok(())
}

/// Every account's secrets sealed again under the current data key (read afresh).
async fn reseal_all(settings: Settings) -> Result<(Arc<Keyring>, Resealed), String> {
    let app = latchkey_web::setup::app(settings).await?;
    let keys = app.vault.keyring().await.map_err(|e| e.to_string())?;
    let mut total = Resealed::default();
    for account in app.store.accounts().await.map_err(|e| e.to_string())? {
        let done = reseal_account(&app, &keys, &account.value.id)
            .await
            .map_err(|e| format!("{}: {e}", account.value.id))?;
        total.add(done);
    }
    Ok((keys, total))
}

fn said(r: &Resealed) -> String {
    format!(
        "{} secrets sealed again, {} already current, {} changed meanwhile",
        r.resealed, r.current, r.changed
    )
}
