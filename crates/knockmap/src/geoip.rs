//! `knockmap geoip`: fetch the database, look addresses up.

use anyhow::Context;

use crate::cli::{GeoipArgs, GeoipCommand};
use crate::paths;

/// Runs `knockmap geoip …`.
pub async fn run(args: GeoipArgs) -> anyhow::Result<()> {
    let data_dir = paths::data_dir(&args.data)?;
    match args.command {
        GeoipCommand::Fetch => {
            let paths =
                knockmap_geo::fetch_default(&data_dir, &knockmap_geo::FetchOptions::from_env())
                    .await
                    .context("downloading DB-IP Lite City")?;
            for path in paths {
                println!("{}", path.display());
            }
        }
        GeoipCommand::Lookup { ip, geo } => {
            let db = paths::open_geo(&geo, &data_dir).await?;
            println!("{}", serde_json::to_string_pretty(&db.lookup(ip))?);
        }
    }
    Ok(())
}
