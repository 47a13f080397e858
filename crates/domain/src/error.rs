//! Errors as causes: any error kept inside another, and the one way an error is written to
//! a log line, with every cause after it.

use std::error::Error;
use std::fmt;

/// Any error, kept as the cause of another.
pub type Cause = Box<dyn Error + Send + Sync>;

/// Shows an error and its chain of causes: `outer: middle: root`.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Cause);

    #[test]
    fn a_chain_names_every_cause_once() {
        let root: Cause = "root cause".into();
        let e = Outer(Box::new(Outer(root)));
        assert_eq!(Chain(&e).to_string(), "outer: outer: root cause");
    }
}
