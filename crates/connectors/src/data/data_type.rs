//! The data types connectors read and write, by Codat's name for them.

use std::fmt;

/// A Codat data type linkwell has a mapping for. Parsed from Codat's key (`chartOfAccounts`,
/// `banking-transactions`, `commerce-orders`...) at the edge, so a connector never matches on free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    BankAccounts,
    BillPayments,
    Bills,
    ChartOfAccounts,
    Company,
    CreditNotes,
    Customers,
    Invoices,
    Items,
    JournalEntries,
    Payments,
    Suppliers,
    TaxRates,
    BankingAccounts,
    BankingAccountBalances,
    BankingTransactions,
    BankingTransactionCategories,
    CommerceCompanyInfo,
    CommerceCustomers,
    CommerceLocations,
    CommerceOrders,
    CommercePayments,
    CommerceProducts,
    CommerceTransactions,
}

impl DataType {
    pub const ALL: [DataType; 24] = [
        DataType::BankAccounts,
        DataType::BillPayments,
        DataType::Bills,
        DataType::ChartOfAccounts,
        DataType::Company,
        DataType::CreditNotes,
        DataType::Customers,
        DataType::Invoices,
        DataType::Items,
        DataType::JournalEntries,
        DataType::Payments,
        DataType::Suppliers,
        DataType::TaxRates,
        DataType::BankingAccounts,
        DataType::BankingAccountBalances,
        DataType::BankingTransactions,
        DataType::BankingTransactionCategories,
        DataType::CommerceCompanyInfo,
        DataType::CommerceCustomers,
        DataType::CommerceLocations,
        DataType::CommerceOrders,
        DataType::CommercePayments,
        DataType::CommerceProducts,
        DataType::CommerceTransactions,
    ];

    /// Codat's key for the data type.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::BankAccounts => "bankAccounts",
            DataType::BillPayments => "billPayments",
            DataType::Bills => "bills",
            DataType::ChartOfAccounts => "chartOfAccounts",
            DataType::Company => "company",
            DataType::CreditNotes => "creditNotes",
            DataType::Customers => "customers",
            DataType::Invoices => "invoices",
            DataType::Items => "items",
            DataType::JournalEntries => "journalEntries",
            DataType::Payments => "payments",
            DataType::Suppliers => "suppliers",
            DataType::TaxRates => "taxRates",
            DataType::BankingAccounts => "banking-accounts",
            DataType::BankingAccountBalances => "banking-accountBalances",
            DataType::BankingTransactions => "banking-transactions",
            DataType::BankingTransactionCategories => "banking-transactionCategories",
            DataType::CommerceCompanyInfo => "commerce-companyInfo",
            DataType::CommerceCustomers => "commerce-customers",
            DataType::CommerceLocations => "commerce-locations",
            DataType::CommerceOrders => "commerce-orders",
            DataType::CommercePayments => "commerce-payments",
            DataType::CommerceProducts => "commerce-products",
            DataType::CommerceTransactions => "commerce-transactions",
        }
    }

    /// The data type with Codat's key `key`; `None` for a key linkwell has no mapping for.
    pub fn parse(key: &str) -> Option<DataType> {
        DataType::ALL
            .into_iter()
            .find(|data_type| data_type.as_str() == key)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses_back_and_is_a_codat_data_type() {
        for data_type in DataType::ALL {
            assert_eq!(DataType::parse(data_type.as_str()), Some(data_type));
            assert!(
                linkwell_domain::integration::DATA_TYPES.contains(&data_type.as_str()),
                "{data_type}"
            );
        }
        assert_eq!(DataType::parse("Invoices"), None);
        assert_eq!(DataType::parse("banking-accounts "), None);
    }
}
