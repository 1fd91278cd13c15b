//! Integrations: the platforms linkwell can connect to, described by a declarative catalogue file
//! (`catalogue/integrations.json`) that is validated when it is loaded.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::connection::SourceType;

/// A platform key: exactly four lowercase ASCII letters, as Codat's `platformKey` pattern requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformKey(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("platformKey must be exactly four lowercase letters")]
pub struct InvalidPlatformKey;

impl PlatformKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidPlatformKey> {
        if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPlatformKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlatformKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Codat's data type keys (the `DataType` enum of the Platform API).
pub const DATA_TYPES: &[&str] = &[
    "accountTransactions",
    "balanceSheet",
    "bankAccounts",
    "bankTransactions",
    "billCreditNotes",
    "billPayments",
    "bills",
    "cashFlowStatement",
    "chartOfAccounts",
    "company",
    "creditNotes",
    "customers",
    "directCosts",
    "directIncomes",
    "invoices",
    "itemReceipts",
    "items",
    "journalEntries",
    "journals",
    "paymentMethods",
    "payments",
    "profitAndLoss",
    "purchaseOrders",
    "salesOrders",
    "suppliers",
    "taxRates",
    "trackingCategories",
    "transfers",
    "banking-accountBalances",
    "banking-accounts",
    "banking-transactionCategories",
    "banking-transactions",
    "commerce-companyInfo",
    "commerce-customers",
    "commerce-disputes",
    "commerce-locations",
    "commerce-orders",
    "commerce-paymentMethods",
    "commerce-payments",
    "commerce-productCategories",
    "commerce-products",
    "commerce-taxComponents",
    "commerce-transactions",
];

/// Codat's feature types (what can be done with a data type).
pub const FEATURE_TYPES: &[&str] = &[
    "Get",
    "Post",
    "Categorization",
    "Delete",
    "Put",
    "GetAsPdf",
    "DownloadAttachment",
    "GetAttachment",
    "GetAttachments",
    "UploadAttachment",
];

/// Codat's feature states.
pub const FEATURE_STATES: &[&str] = &[
    "Release",
    "Alpha",
    "Beta",
    "Deprecated",
    "NotSupported",
    "NotImplemented",
];

/// One data type an integration supports, with the operations it supports for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataTypeSupport {
    pub data_type: String,
    /// Codat feature types: Get, Post, Put, Delete...
    pub features: Vec<String>,
}

/// A catalogue entry as written in the catalogue file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Integration {
    pub key: String,
    pub name: String,
    pub source_type: SourceType,
    pub integration_id: Uuid,
    pub source_id: Uuid,
    pub enabled: bool,
    #[serde(default)]
    pub is_beta: bool,
    #[serde(default)]
    pub is_offline_connector: bool,
    pub data_provided_by: String,
    /// Brand colour of the generated logo, as `#rrggbb`.
    pub colour: String,
    #[serde(default)]
    pub data_types: Vec<DataTypeSupport>,
}

#[derive(Debug, Error)]
pub enum CatalogueError {
    #[error("catalogue is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("catalogue entry '{0}': platform key must be four lowercase letters")]
    Key(String),
    #[error("catalogue lists '{0}' twice")]
    Duplicate(String),
    #[error("catalogue entry '{0}': colour must be #rrggbb")]
    Colour(String),
    #[error("catalogue entry '{0}': '{1}' is not a Codat data type or feature type")]
    DataType(String, String),
}

/// The validated catalogue, in file order.
#[derive(Debug, Clone)]
pub struct Catalogue {
    integrations: Vec<Integration>,
}

impl Catalogue {
    pub fn parse(json: &str) -> Result<Self, CatalogueError> {
        let integrations: Vec<Integration> = serde_json::from_str(json)?;
        let mut seen = HashSet::new();
        for integration in &integrations {
            PlatformKey::parse(&integration.key)
                .map_err(|_| CatalogueError::Key(integration.key.clone()))?;
            if !seen.insert(integration.key.clone()) {
                return Err(CatalogueError::Duplicate(integration.key.clone()));
            }
            let colour = integration.colour.as_bytes();
            if colour.len() != 7
                || colour[0] != b'#'
                || !colour[1..].iter().all(u8::is_ascii_hexdigit)
            {
                return Err(CatalogueError::Colour(integration.key.clone()));
            }
            for support in &integration.data_types {
                if !DATA_TYPES.contains(&support.data_type.as_str()) {
                    return Err(CatalogueError::DataType(
                        integration.key.clone(),
                        support.data_type.clone(),
                    ));
                }
                if let Some(feature) = support
                    .features
                    .iter()
                    .find(|f| !FEATURE_TYPES.contains(&f.as_str()))
                {
                    return Err(CatalogueError::DataType(
                        integration.key.clone(),
                        feature.clone(),
                    ));
                }
            }
        }
        Ok(Self { integrations })
    }

    pub fn all(&self) -> &[Integration] {
        &self.integrations
    }

    pub fn get(&self, key: &PlatformKey) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.key == key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_keys_are_four_lowercase_letters() {
        assert!(PlatformKey::parse("mqjo").is_ok());
        for bad in ["MQJO", "mqj", "mqjoo", "mq1o", ""] {
            assert_eq!(PlatformKey::parse(bad), Err(InvalidPlatformKey));
        }
    }

    #[test]
    fn built_in_catalogue_is_valid() {
        let catalogue =
            Catalogue::parse(include_str!("../../../catalogue/integrations.json")).unwrap();
        let keys: Vec<&str> = catalogue.all().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["mqjo", "bnks", "aiwb"]);
    }

    #[test]
    fn catalogue_rejects_unknown_data_types() {
        let entry = r##"[{"key":"abcd","name":"A","sourceType":"Banking","integrationId":"5e2a4b8c-2c3f-4a40-9d77-3a0a1d2e3f40","sourceId":"5e2a4b8c-2c3f-4a40-9d77-3a0a1d2e3f41","enabled":true,"dataProvidedBy":"x","colour":"#112233","dataTypes":[{"dataType":"accounts","features":["Get"]}]}]"##;
        assert!(matches!(
            Catalogue::parse(entry),
            Err(CatalogueError::DataType(_, _))
        ));
    }

    #[test]
    fn catalogue_rejects_duplicates() {
        let entry = r##"{"key":"abcd","name":"A","sourceType":"Banking","integrationId":"5e2a4b8c-2c3f-4a40-9d77-3a0a1d2e3f40","sourceId":"5e2a4b8c-2c3f-4a40-9d77-3a0a1d2e3f41","enabled":true,"dataProvidedBy":"x","colour":"#112233"}"##;
        assert!(Catalogue::parse(&format!("[{entry}]")).is_ok());
        assert!(matches!(
            Catalogue::parse(&format!("[{entry},{entry}]")),
            Err(CatalogueError::Duplicate(_))
        ));
    }
}
