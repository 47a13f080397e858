//! The marketplace's shelf: the offers a search and a category select, a page at a time.

use latchkey_connect::flow::Offer;
use latchkey_domain::Category;

/// Cards on one page of the marketplace.
pub const PAGE_SIZE: usize = 24;

/// What the consumer asked the marketplace for (`q`, `category`, `page` in the query).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Browse {
    pub query: String,
    pub category: Option<Category>,
    /// From 1.
    pub page: usize,
}

impl Browse {
    /// Reads `q`, `category` and `page` from a query string; anything unusable is ignored.
    pub fn from_query(query: &str) -> Self {
        let mut browse = Browse {
            page: 1,
            ..Browse::default()
        };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "q" => browse.query = v.trim().chars().take(100).collect(),
                "category" => browse.category = Category::from_slug(&v),
                "page" => browse.page = v.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                _ => {}
            }
        }
        browse
    }

    /// This browse's query parameters with `changes` applied (empty values dropped).
    pub fn params(&self, changes: &[(&str, &str)]) -> Vec<(String, String)> {
        let page = self.page.to_string();
        let mut pairs = vec![
            ("q", self.query.as_str()),
            ("category", self.category.map_or("", Category::slug)),
            ("page", page.as_str()),
        ];
        for (k, v) in changes {
            if let Some(p) = pairs.iter_mut().find(|(name, _)| name == k) {
                p.1 = v;
            }
        }
        pairs
            .into_iter()
            .filter(|(k, v)| !(v.is_empty() || (*k == "page" && *v == "1")))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// One page of matching offers, with what the page needs around them.
pub struct Shelf<'a> {
    pub browse: Browse,
    /// This page's offers.
    pub offers: Vec<&'a Offer>,
    /// How many offers match in all.
    pub matching: usize,
    pub pages: usize,
    /// The categories any offer is in, in the fixed order.
    pub categories: Vec<Category>,
}

fn matches(offer: &Offer, words: &[String]) -> bool {
    let i = &offer.integration;
    let text = format!(
        "{} {} {}",
        i.name,
        i.key,
        i.description.as_deref().unwrap_or("")
    )
    .to_lowercase();
    words.iter().all(|w| text.contains(w.as_str()))
}

impl<'a> Shelf<'a> {
    /// Connected offers first, then by name; filtered by the search words (all must
    /// appear in the name, key or description) and the category.
    pub fn new(offers: &'a [Offer], mut browse: Browse) -> Self {
        let words: Vec<String> = browse
            .query
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let categories: Vec<Category> = Category::ALL
            .into_iter()
            .filter(|c| offers.iter().any(|o| o.integration.categories.contains(c)))
            .collect();
        let mut found: Vec<&Offer> = offers
            .iter()
            .filter(|o| {
                browse
                    .category
                    .is_none_or(|c| o.integration.categories.contains(&c))
            })
            .filter(|o| matches(o, &words))
            .collect();
        found.sort_by_cached_key(|o| (!o.connected, o.integration.name.to_lowercase()));
        let matching = found.len();
        let pages = matching.div_ceil(PAGE_SIZE).max(1);
        browse.page = browse.page.min(pages);
        let offers = found
            .into_iter()
            .skip((browse.page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        Shelf {
            browse,
            offers,
            matching,
            pages,
            categories,
        }
    }

    /// Every offer on one page (after a success: the consumer's connections).
    pub fn all(offers: &'a [Offer]) -> Self {
        Shelf {
            browse: Browse {
                page: 1,
                ..Browse::default()
            },
            offers: offers.iter().collect(),
            matching: offers.len(),
            pages: 1,
            categories: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::IntegrationInput;

    fn offer(key: &str, name: &str, categories: &[&str], connected: bool) -> Offer {
        let input: IntegrationInput = serde_json::from_value(serde_json::json!({
            "key": key, "name": name, "description": format!("{name} things"),
            "categories": categories,
            "auth_options": [{"key": "k", "type": "api_key"}],
            "api": {"base_url": "https://api.example.com"}
        }))
        .unwrap();
        Offer {
            integration: input
                .into_integration("int_1".into(), "acc_1".into(), None, 0)
                .unwrap(),
            connected,
        }
    }

    #[test]
    fn search_category_and_pages_narrow_the_shelf() {
        let mut offers = vec![
            offer("zeta", "Zeta CRM", &["crm"], false),
            offer("books", "Acme Books", &["accounting"], false),
            offer("alpha", "Alpha CRM", &["crm", "marketing"], true),
        ];
        for i in 0..30 {
            offers.push(offer(
                &format!("tool{i}"),
                &format!("Tool {i:02}"),
                &["developer_tools"],
                false,
            ));
        }
        let shelf = Shelf::new(&offers, Browse::from_query("q=crm"));
        let names: Vec<_> = shelf
            .offers
            .iter()
            .map(|o| o.integration.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["Alpha CRM", "Zeta CRM"],
            "connected first, then by name"
        );
        let shelf = Shelf::new(&offers, Browse::from_query("category=accounting"));
        assert_eq!(shelf.matching, 1);
        let shelf = Shelf::new(&offers, Browse::from_query("q=zeta+crm&category=marketing"));
        assert_eq!(shelf.matching, 0, "every word and the category must match");
        let shelf = Shelf::new(
            &offers,
            Browse::from_query("category=developer_tools&page=2"),
        );
        assert_eq!(
            (shelf.matching, shelf.pages, shelf.offers.len()),
            (30, 2, 6)
        );
        let shelf = Shelf::new(&offers, Browse::from_query("page=99&category=nope"));
        assert_eq!((shelf.browse.page, shelf.browse.category), (2, None));
        assert_eq!(
            shelf
                .categories
                .iter()
                .map(|c| c.slug())
                .collect::<Vec<_>>(),
            ["crm", "accounting", "marketing", "developer_tools"],
            "only the categories an offer is in, in the fixed order"
        );
        assert_eq!(
            Browse::from_query("q=a+b&page=3").params(&[("page", "1")]),
            [("q".to_owned(), "a b".to_owned())]
        );
    }
}
