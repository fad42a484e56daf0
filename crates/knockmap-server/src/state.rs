//! State shared by every request.

use std::sync::Arc;

use knockmap_geo::GeoDb;
use serde::Serialize;

use crate::SharedStore;
use crate::admin::AdminAccess;
use crate::ingest::Ingestor;
use crate::live::LiveHub;
use crate::public::PublicView;
use crate::shodan::{Shodan, ShodanConfig, ShodanError};

/// A point on the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Location {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// A sensor's name and where its arcs land.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorLocation {
    /// The sensor name.
    pub name: String,
    /// Its location.
    #[serde(flatten)]
    pub location: Location,
}

/// The geolocation attribution a data licence requires on the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Link text.
    pub text: &'static str,
    /// Link target.
    pub url: &'static str,
}

/// What the page needs to know about this server (`GET /api/v1/meta`, websocket hello).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    /// knockmap's version.
    pub version: &'static str,
    /// The home location arcs fly to when an event's sensor has none.
    pub home: Option<Location>,
    /// Sensors with a location.
    pub sensors: Vec<SensorLocation>,
    /// Geolocation attribution, when the data in use requires one.
    pub attribution: Option<Attribution>,
    /// Public mode (`--public`): addresses are shown as networks, no admin, no address pages.
    pub public: bool,
    /// Whether user names are shown (always outside public mode).
    pub show_users: bool,
}

impl Meta {
    /// The meta for a server with this home location and geolocation data.
    pub fn new(home: Option<Location>, geo: &GeoDb) -> Meta {
        Meta {
            version: env!("CARGO_PKG_VERSION"),
            home,
            sensors: home
                .map(|location| SensorLocation {
                    name: crate::local_source::LOCAL_SENSOR.into(),
                    location,
                })
                .into_iter()
                .collect(),
            attribution: geo.needs_dbip_attribution().then_some(Attribution {
                text: "IP Geolocation by DB-IP",
                url: "https://db-ip.com",
            }),
            public: false,
            show_users: true,
        }
    }
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The event store.
    pub store: SharedStore,
    /// The live hub.
    pub hub: Arc<dyn LiveHub>,
    /// The ingest path.
    pub ingestor: Ingestor,
    /// Static facts for the page; [`AppState::meta`] adds the registered sensors.
    pub meta: Arc<Meta>,
    /// Who may use the admin routes (off when nothing is configured).
    pub admin: Arc<AdminAccess>,
    /// Public mode: what every answer is anonymised with.
    pub public: Option<PublicView>,
    /// Shodan lookups for attackers' pages, when a key is configured.
    pub shodan: Option<Arc<Shodan>>,
}

impl AppState {
    /// The page's facts: the static ones plus every registered sensor with a location (revoked
    /// ones too: the events they sent are still on the map).
    pub async fn meta(&self) -> Result<Meta, knockmap_store::StoreError> {
        let mut meta = self.meta.as_ref().clone();
        for sensor in self.store.list_sensors().await? {
            if let Some((lat, lon)) = sensor.location {
                meta.sensors.push(SensorLocation {
                    name: sensor.name,
                    location: Location { lat, lon },
                });
            }
        }
        Ok(meta)
    }

    /// State for a store, geolocation databases and a home location.
    pub fn new(store: SharedStore, geo: Arc<GeoDb>, home: Option<Location>) -> AppState {
        let hub: Arc<dyn LiveHub> = Arc::new(crate::live::BroadcastHub::new(1024));
        let meta = Arc::new(Meta::new(home, &geo));
        AppState {
            ingestor: Ingestor::new(store.clone(), geo, hub.clone()),
            store,
            hub,
            meta,
            admin: Arc::new(AdminAccess::none()),
            public: None,
            shodan: None,
        }
    }

    /// The same state in public mode (see [`PublicView`]); admin access is switched off.
    pub fn with_public(mut self, view: PublicView) -> AppState {
        self.public = Some(view);
        self.admin = Arc::new(AdminAccess::none());
        let mut meta = self.meta.as_ref().clone();
        meta.public = true;
        meta.show_users = view.show_users;
        self.meta = Arc::new(meta);
        self
    }

    /// The same state with Shodan lookups.
    pub fn with_shodan(mut self, config: ShodanConfig) -> Result<AppState, ShodanError> {
        self.shodan = Some(Arc::new(Shodan::new(config)?));
        Ok(self)
    }

    /// The same state with these admin credentials.
    pub fn with_admin(mut self, admin: AdminAccess) -> AppState {
        self.admin = Arc::new(admin);
        self
    }
}
