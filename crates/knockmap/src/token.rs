//! `knockmap token`: register, list and revoke remote sensors.

use anyhow::{Context, bail};
use jiff::Timestamp;
use knockmap_store::{Sensor, StoreError};

use crate::cli::{DbOptions, TokenArgs, TokenCommand};
use crate::paths;

/// Longest sensor name.
const MAX_NAME: usize = 64;

/// Runs `knockmap token …`.
pub async fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Create { name, location, db } => {
            check_name(&name)?;
            let store = open(&db).await?;
            let token = knockmap_server::token::generate_token()?;
            let hash = knockmap_server::token::hash_token(&token);
            match store.create_sensor(&name, location, &hash).await {
                Ok(_) => {}
                Err(e @ StoreError::SensorExists(_)) => bail!("{e}"),
                Err(e) => return Err(e).context("registering the sensor"),
            }
            // The token alone on standard output, so that scripts can capture it.
            println!("{token}");
            eprintln!(
                "knockmap: sensor {name} registered. This token is shown only once; on the \
                 sensor's machine run:\n  KNOCKMAP_TOKEN=<token> knockmap sensor --server \
                 <this server's URL> --source auto"
            );
        }
        TokenCommand::List { db } => {
            let sensors = open(&db)
                .await?
                .list_sensors()
                .await
                .context("listing sensors")?;
            print!("{}", table(&sensors));
        }
        TokenCommand::Revoke { name, db } => {
            let store = open(&db).await?;
            if !store
                .revoke_sensor(&name)
                .await
                .context("revoking the sensor")?
            {
                bail!(
                    "no sensor named {} with a valid token (see `knockmap token list`)",
                    printable(&name)
                );
            }
            eprintln!(
                "knockmap: sensor {} revoked; the server refuses its token from now on",
                printable(&name)
            );
        }
    }
    Ok(())
}

async fn open(db: &DbOptions) -> anyhow::Result<std::sync::Arc<dyn knockmap_store::Store>> {
    paths::open_store(db.db.as_deref(), &paths::data_dir(&db.data)?).await
}

/// Sensor names are short and plain: they appear on the map, in the API and in file names.
fn check_name(name: &str) -> anyhow::Result<()> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > MAX_NAME || !plain {
        bail!(
            "sensor names are 1 to {MAX_NAME} letters, digits, '.', '_' or '-', got {}",
            printable(name)
        );
    }
    if name == knockmap_server::LOCAL_SENSOR {
        bail!("the name {name:?} is reserved for logs read by `knockmap serve --source`");
    }
    Ok(())
}

/// The sensors as an aligned text table.
fn table(sensors: &[Sensor]) -> String {
    let time = |t: Option<Timestamp>| {
        t.map_or("-".to_string(), |t| {
            t.round(jiff::Unit::Second).unwrap_or(t).to_string()
        })
    };
    let mut rows = vec![[
        "NAME".to_string(),
        "LOCATION".into(),
        "CREATED".into(),
        "LAST SEEN".into(),
        "REVOKED".into(),
    ]];
    for s in sensors {
        rows.push([
            printable(&s.name),
            s.location
                .map_or("-".into(), |(lat, lon)| format!("{lat},{lon}")),
            time(Some(s.created)),
            time(s.last_seen),
            time(s.revoked_at),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if sensors.is_empty() {
        out.push_str("(no sensors: create one with `knockmap token create NAME`)\n");
    }
    out
}

/// Text safe to print on a terminal: control characters escaped.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_local_is_reserved() {
        assert!(check_name("edge-1.example_net").is_ok());
        for bad in ["", "a b", "ä", "x\u{1b}[31m", "local", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tables_align_and_escape() {
        let created: Timestamp = "2026-11-21T19:16:01.5Z".parse().expect("time");
        let sensors = [Sensor {
            name: "bad\u{1b}name".into(),
            location: Some((35.7, 139.7)),
            created,
            revoked_at: None,
            last_seen: None,
            health: Default::default(),
        }];
        let text = table(&sensors);
        assert!(!text.contains('\u{1b}'), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME"), "{text}");
        assert!(lines[1].contains("35.7,139.7") && lines[1].contains("2026-11-21T19:16:02Z"));
        assert_eq!(lines[0].find("LOCATION"), lines[1].find("35.7"));
    }
}
