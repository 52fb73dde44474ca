//! Keyset pagination: pages continue after the last key seen, never at an offset, so a page
//! costs the same deep into a million rows and concurrent inserts cause no gaps or repeats.

use uuid::Uuid;

use crate::error::ValueError;

/// A page to fetch. Most lists continue after an id; a list in another order names its
/// own key `K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest<K = Uuid> {
    /// The most items on the page, 1 to [`PageRequest::MAX_LIMIT`].
    pub limit: u32,
    /// Continue after this key (exclusive); `None` starts at the beginning.
    pub after: Option<K>,
}

impl PageRequest {
    /// The page size when the client names none.
    pub const DEFAULT_LIMIT: u32 = 25;
    /// The largest page a client may ask for.
    pub const MAX_LIMIT: u32 = 100;

    /// A request for `limit` items after `after`; refuses a limit out of 1 to
    /// [`MAX_LIMIT`](Self::MAX_LIMIT).
    pub fn new(limit: Option<u32>, after: Option<Uuid>) -> Result<Self, ValueError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ValueError::new("out_of_range", format!("limit must be between 1 and {}", Self::MAX_LIMIT)));
        }
        Ok(Self { limit, after })
    }

    /// The first page, with `limit` clamped to 1 to [`MAX_LIMIT`](Self::MAX_LIMIT).
    pub fn first(limit: u32) -> Self {
        Self { limit: limit.clamp(1, Self::MAX_LIMIT), after: None }
    }
}

impl<K> PageRequest<K> {
    /// How many rows an adapter should fetch: one more than the page, to learn whether
    /// another page follows without counting.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of a keyset-paginated listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K = Uuid> {
    /// The page's items, in key order.
    pub items: Vec<T>,
    /// The key to pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Builds a page from up to `limit + 1` rows fetched in key order.
    pub fn from_overfetch(mut rows: Vec<T>, request: PageRequest<K>, key: impl Fn(&T) -> K) -> Self {
        let limit = request.limit as usize;
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&key)
        } else {
            None
        };
        Self { items: rows, next_after }
    }

    /// The same page with every item turned into another by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, K> {
        Page { items: self.items.into_iter().map(f).collect(), next_after: self.next_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
        assert_eq!(PageRequest::new(None, None).map(|p| p.limit), Ok(25));
    }

    #[test]
    fn overfetch_tells_whether_a_next_page_exists() {
        let keys: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let request = PageRequest::first(3);
        let page = Page::from_overfetch(keys.clone(), request, |k| *k);
        assert_eq!(page.items.len(), 3);
        assert_eq!(page.next_after, Some(keys[2]));
        let last = Page::from_overfetch(keys[..3].to_vec(), request, |k| *k);
        assert_eq!(last.next_after, None);
    }
}
