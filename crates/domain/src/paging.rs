//! Page requests, validated once: `page` ≥ 1, `pageSize` 1..=5000 (default 100), as Codat's spec defines them.

use thiserror::Error;

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PageError {
    #[error("page must be a whole number of at least 1")]
    Page,
    #[error("pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}")]
    PageSize,
}

impl PageRequest {
    pub fn new(page: Option<i64>, page_size: Option<i64>) -> Result<Self, PageError> {
        let page = match page {
            None => 1,
            Some(value) if (1..=i64::from(u32::MAX)).contains(&value) => value as u32,
            Some(_) => return Err(PageError::Page),
        };
        let page_size = match page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(value) if (1..=i64::from(MAX_PAGE_SIZE)).contains(&value) => value as u32,
            Some(_) => return Err(PageError::PageSize),
        };
        Ok(Self { page, page_size })
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }

    pub fn has_next(&self, total: u64) -> bool {
        self.offset() + u64::from(self.page_size) < total
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// One page of results with the total count the envelope reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub request: PageRequest,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(
            PageRequest::new(None, None).unwrap(),
            PageRequest::default()
        );
        assert_eq!(PageRequest::new(Some(0), None), Err(PageError::Page));
        assert_eq!(PageRequest::new(None, Some(0)), Err(PageError::PageSize));
        assert_eq!(PageRequest::new(None, Some(5001)), Err(PageError::PageSize));
        let request = PageRequest::new(Some(3), Some(10)).unwrap();
        assert_eq!(request.offset(), 20);
        assert!(request.has_next(31));
        assert!(!request.has_next(30));
    }
}
