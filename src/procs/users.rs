//! uid → user name from /etc/passwd, read once and re-read at most once per unknown uid.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::parse::parse_passwd;

/// Cached user names. Unknown uids show as their number.
#[derive(Debug)]
pub struct UserNames {
    passwd: PathBuf,
    names: HashMap<u32, Arc<str>>,
    reloaded_for: HashSet<u32>,
}

impl UserNames {
    pub fn new(passwd: PathBuf) -> Self {
        let mut u = UserNames { passwd, names: HashMap::new(), reloaded_for: HashSet::new() };
        u.reload();
        u
    }

    fn reload(&mut self) {
        // An unreadable passwd file is not fatal: names fall back to numbers.
        if let Ok(buf) = std::fs::read(&self.passwd) {
            for (uid, name) in parse_passwd(&buf) {
                self.names.entry(uid).or_insert_with(|| Arc::from(name));
            }
        }
    }

    /// The name of `uid`; a miss re-reads the file once (a user added since we started).
    pub fn name(&mut self, uid: u32) -> Arc<str> {
        if let Some(n) = self.names.get(&uid) {
            return n.clone();
        }
        if self.reloaded_for.insert(uid) {
            self.reload();
            if let Some(n) = self.names.get(&uid) {
                return n.clone();
            }
        }
        let n: Arc<str> = Arc::from(uid.to_string());
        self.names.insert(uid, n.clone());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_late_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        std::fs::write(&path, "root:x:0:0::/root:/bin/sh\n").unwrap();
        let mut u = UserNames::new(path.clone());
        assert_eq!(&*u.name(0), "root");
        std::fs::write(&path, "root:x:0:0::/root:/bin/sh\nana:x:1000:1000::/h:/bin/sh\n").unwrap();
        assert_eq!(&*u.name(1000), "ana");
        assert_eq!(&*u.name(4242), "4242");
        assert_eq!(&*UserNames::new(dir.path().join("missing")).name(0), "0");
    }
}
