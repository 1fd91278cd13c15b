//! Company values: name, description and tags, with Codat's rules applied once when they are parsed.

use std::collections::BTreeMap;

use thiserror::Error;

/// Longest name we keep. Codat's spec sets no upper bound; an unbounded name is a storage and rendering hazard.
pub const MAX_COMPANY_NAME_LENGTH: usize = 255;
pub const MAX_DESCRIPTION_LENGTH: usize = 4000;
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_KEY_LENGTH: usize = 27;
pub const MAX_TAG_VALUE_LENGTH: usize = 100;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CompanyValueError {
    #[error("name must contain at least one of the allowed characters (letters, digits, spaces and - ' , & @ . ? !)")]
    EmptyName,
    #[error("name must be at most {MAX_COMPANY_NAME_LENGTH} characters")]
    NameTooLong,
    #[error("description must be at most {MAX_DESCRIPTION_LENGTH} characters")]
    DescriptionTooLong,
    #[error("tags may hold at most {MAX_TAGS} entries")]
    TooManyTags,
    #[error("tag name '{0}' must be 1 to {MAX_TAG_KEY_LENGTH} characters")]
    TagKey(String),
    #[error("tag '{0}' has a value longer than {MAX_TAG_VALUE_LENGTH} characters")]
    TagValue(String),
}

/// A company name as Codat's spec allows it: `^[A-Za-z0-9\s\-',&@.,?!]+$`. Like Codat, forbidden characters are
/// removed rather than refused (`Company (Codat[1])` becomes `Company Codat1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(raw: &str) -> Result<Self, CompanyValueError> {
        let kept: String = raw.chars().filter(|c| Self::allowed(*c)).collect();
        let kept = kept.trim();
        if kept.is_empty() {
            return Err(CompanyValueError::EmptyName);
        }
        if kept.chars().count() > MAX_COMPANY_NAME_LENGTH {
            return Err(CompanyValueError::NameTooLong);
        }
        Ok(Self(kept.to_owned()))
    }

    fn allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || c.is_whitespace() && c.is_ascii() || "-',&@.?!".contains(c)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyDescription(String);

impl CompanyDescription {
    pub fn parse(raw: &str) -> Result<Self, CompanyValueError> {
        if raw.chars().count() > MAX_DESCRIPTION_LENGTH {
            return Err(CompanyValueError::DescriptionTooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// User-defined key/value metadata: at most 10 entries, keys 1–27 characters, values at most 100.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(BTreeMap<String, String>);

impl Tags {
    pub fn parse(raw: BTreeMap<String, String>) -> Result<Self, CompanyValueError> {
        if raw.len() > MAX_TAGS {
            return Err(CompanyValueError::TooManyTags);
        }
        for (key, value) in &raw {
            let length = key.chars().count();
            if length == 0 || length > MAX_TAG_KEY_LENGTH {
                return Err(CompanyValueError::TagKey(key.clone()));
            }
            if value.chars().count() > MAX_TAG_VALUE_LENGTH {
                return Err(CompanyValueError::TagValue(key.clone()));
            }
        }
        Ok(Self(raw))
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_removed_as_codat_does() {
        assert_eq!(
            CompanyName::parse("Company (Codat[1])").unwrap().as_str(),
            "Company Codat1"
        );
        assert_eq!(
            CompanyName::parse("  Bank of Dave, & Sons!  ")
                .unwrap()
                .as_str(),
            "Bank of Dave, & Sons!"
        );
        assert_eq!(
            CompanyName::parse("(){}"),
            Err(CompanyValueError::EmptyName)
        );
        assert_eq!(CompanyName::parse(""), Err(CompanyValueError::EmptyName));
        assert_eq!(
            CompanyName::parse(&"a".repeat(256)),
            Err(CompanyValueError::NameTooLong)
        );
    }

    #[test]
    fn tag_limits() {
        let ok: BTreeMap<_, _> = (0..10).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(Tags::parse(ok).is_ok());
        let many: BTreeMap<_, _> = (0..11).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert_eq!(Tags::parse(many), Err(CompanyValueError::TooManyTags));
        let long_key = BTreeMap::from([("k".repeat(28), "v".to_owned())]);
        assert!(matches!(
            Tags::parse(long_key),
            Err(CompanyValueError::TagKey(_))
        ));
        let long_value = BTreeMap::from([("k".to_owned(), "v".repeat(101))]);
        assert!(matches!(
            Tags::parse(long_value),
            Err(CompanyValueError::TagValue(_))
        ));
    }
}
