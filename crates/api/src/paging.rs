//! Codat's paging envelope: `results`, `pageNumber`, `pageSize`, `totalResults` and HAL `_links`.

use linkwell_domain::paging::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HalRef {
    pub href: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: HalRef,
    pub current: HalRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<HalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<HalRef>,
}

impl Links {
    /// Links for `path` (as requested, without query string); `extra` carries the request's other parameters
    /// (query, orderBy...) so that following `next` keeps the same filter.
    pub fn new(path: &str, extra: &[(&str, &str)], request: PageRequest, total: u64) -> Self {
        let href = |page: u32| {
            let mut href = format!("{path}?page={page}&pageSize={}", request.page_size());
            for (name, value) in extra {
                href.push_str(&format!("&{name}={}", encode(value)));
            }
            HalRef { href }
        };
        Self {
            self_: HalRef {
                href: path.to_owned(),
            },
            current: href(request.page()),
            next: request.has_next(total).then(|| href(request.page() + 1)),
            previous: (request.page() > 1).then(|| href(request.page() - 1)),
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a query string value.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Declares a concrete paged envelope type for OpenAPI (utoipa names schemas after concrete types).
#[macro_export]
macro_rules! paged {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            pub results: Vec<$item>,
            pub page_number: u32,
            pub page_size: u32,
            pub total_results: u64,
            #[serde(rename = "_links")]
            pub links: $crate::paging::Links,
        }

        impl $name {
            pub fn new(
                results: Vec<$item>,
                path: &str,
                extra: &[(&str, &str)],
                request: linkwell_domain::paging::PageRequest,
                total: u64,
            ) -> Self {
                Self {
                    results,
                    page_number: request.page(),
                    page_size: request.page_size(),
                    total_results: total,
                    links: $crate::paging::Links::new(path, extra, request, total),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_previous_only_when_they_exist() {
        let first = Links::new(
            "/companies",
            &[],
            PageRequest::new(Some(1), Some(10)).unwrap(),
            25,
        );
        assert_eq!(first.current.href, "/companies?page=1&pageSize=10");
        assert_eq!(first.next.unwrap().href, "/companies?page=2&pageSize=10");
        assert!(first.previous.is_none());
        let last = Links::new(
            "/companies",
            &[("query", "name=a b")],
            PageRequest::new(Some(3), Some(10)).unwrap(),
            25,
        );
        assert!(last.next.is_none());
        assert_eq!(
            last.previous.unwrap().href,
            "/companies?page=2&pageSize=10&query=name%3Da%20b"
        );
        let only = Links::new("/companies", &[], PageRequest::default(), 0);
        assert!(only.next.is_none() && only.previous.is_none());
    }
}
