//! Object storage: turns the user's root URLs into `object_store` stores and
//! registers them with DataFusion, so every read and write goes through one path.
//!
//! Accepted roots: a plain path, `file://`, `s3://`, `gs://`, `az://`, `abfss://`
//! and `memory://` (tests register an in-memory store explicitly). Cloud
//! credentials, regions and endpoints come from the standard environment
//! variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`), so any S3-compatible server works.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use crate::error::{Error, Result};

/// Parses a root given on the command line into a URL that ends with `/`.
///
/// Plain paths are made absolute against the current directory; they need
/// not exist yet (outputs are created on first write).
pub fn parse_root(root: &str) -> Result<Url> {
    let root = root.trim();
    if root.is_empty() {
        return Err(Error::Usage(
            "an input or output root must not be empty".into(),
        ));
    }
    let mut url = if root.contains("://") {
        Url::parse(root).map_err(|e| Error::Usage(format!("'{root}' is not a valid URL: {e}")))?
    } else {
        let path = std::path::absolute(root)
            .map_err(|e| Error::Usage(format!("'{root}' is not a usable path: {e}")))?;
        Url::from_directory_path(&path)
            .map_err(|_| Error::Usage(format!("'{root}' is not a usable path")))?
    };
    match url.scheme() {
        "file" | "memory" | "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "azure" => {}
        other => {
            return Err(Error::Usage(format!(
                "unsupported storage scheme '{other}' in '{root}': use a path, file://, s3://, gs://, az://, abfss:// or memory://"
            )));
        }
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// The part of a URL DataFusion keys object stores by: scheme and authority.
pub fn store_key(url: &Url) -> Url {
    let mut key = url.clone();
    key.set_path("/");
    key.set_query(None);
    key.set_fragment(None);
    key
}

/// The object-store path of a URL (its path without the leading `/`).
pub fn store_path(url: &Url) -> Result<StorePath> {
    let path = url.path().trim_matches('/');
    StorePath::parse(
        percent_decode(path).map_err(|e| Error::Usage(format!("bad path in '{url}': {e}")))?,
    )
    .map_err(|e| Error::Usage(format!("bad path in '{url}': {e}")))
}

fn percent_decode(s: &str) -> std::result::Result<String, std::str::Utf8Error> {
    // `Url` keeps paths percent-encoded; object_store wants them decoded.
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
}

/// Builds and caches the object stores halo talks to.
///
/// Cloud stores are built from the environment on first use; `memory://`
/// stores must be added with [`Storage::with_store`] (tests do this).
#[derive(Clone, Default)]
pub struct Storage {
    stores: Arc<RwLock<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .stores
            .read()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Storage").field("stores", &keys).finish()
    }
}

impl Storage {
    /// A registry with no pre-built stores.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `store` for every URL under `root`'s scheme and authority.
    pub fn with_store(self, root: &Url, store: Arc<dyn ObjectStore>) -> Self {
        self.stores
            .write()
            .expect("storage lock poisoned")
            .insert(store_key(root).to_string(), store);
        self
    }

    /// The store serving `url`, built from the environment if needed.
    pub fn store_for(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let key = store_key(url).to_string();
        if let Some(store) = self.stores.read().expect("storage lock poisoned").get(&key) {
            return Ok(store.clone());
        }
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => Arc::new(LocalFileSystem::new()),
            "memory" => {
                return Err(Error::Usage(format!(
                    "'{url}': memory:// stores exist only inside one process (tests); use a path or a cloud URL"
                )));
            }
            "s3" | "s3a" => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| Error::Config(format!("S3 store for '{url}': {e}")))?,
            ),
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| Error::Config(format!("GCS store for '{url}': {e}")))?,
            ),
            "az" | "abfs" | "abfss" | "azure" => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| Error::Config(format!("Azure store for '{url}': {e}")))?,
            ),
            other => {
                return Err(Error::Usage(format!(
                    "unsupported storage scheme '{other}'"
                )));
            }
        };
        self.stores
            .write()
            .expect("storage lock poisoned")
            .insert(key, store.clone());
        Ok(store)
    }

    /// Makes `url`'s store known to a DataFusion session.
    pub fn register(&self, ctx: &SessionContext, url: &Url) -> Result<()> {
        let store = self.store_for(url)?;
        ctx.register_object_store(&store_key(url), store);
        Ok(())
    }

    /// Every object below `prefix`, sorted by path so that file order is
    /// deterministic whatever order the store lists them in.
    pub async fn list(&self, prefix: &Url) -> Result<Vec<ObjectMeta>> {
        let store = self.store_for(prefix)?;
        let path = store_path(prefix)?;
        let mut objects: Vec<ObjectMeta> = match store.list(Some(&path)).try_collect().await {
            Ok(v) => v,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects)
    }

    /// The URL of an object listed under `root`.
    pub fn object_url(root: &Url, location: &StorePath) -> Url {
        let mut u = store_key(root);
        u.set_path(&format!("/{}", location.as_ref()));
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_become_directory_urls() {
        let u = parse_root("/tmp/x").unwrap();
        assert_eq!(u.as_str(), "file:///tmp/x/");
        let u = parse_root("s3://bucket/raw").unwrap();
        assert_eq!(u.as_str(), "s3://bucket/raw/");
        assert_eq!(store_key(&u).as_str(), "s3://bucket/");
        assert_eq!(store_path(&u).unwrap().as_ref(), "raw");
    }

    #[test]
    fn unknown_schemes_are_usage_errors() {
        let e = parse_root("ftp://host/x").unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn percent_encoded_paths_are_decoded() {
        let u = parse_root("/tmp/with space").unwrap();
        assert_eq!(store_path(&u).unwrap().as_ref(), "tmp/with space");
    }
}
