//! The enrichment stage's settings: the `[ownership]` table of a rule-config file.
//!
//! ```toml
//! [ownership]
//! admins = ["admin", "arn:aws:iam::123456789012:role/backoffice"]
//! public = ["catalog"]
//! routes = [
//!   { route = "/accounts/{acct}/statements/{id}", param = "acct", owner = "user" },
//!   { route = "/shared/{token}", param = "token", owner = "public" },
//! ]
//! tables = [{ table = "docs", attribute = "author", owner = "user" }]
//! ```

use serde::Deserialize;

/// Whose an id (or an attribute's value) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// The value is the owning user's id.
    User,
    /// The value is the owning tenant's id.
    Tenant,
    /// The value is an object id; its owner is whoever created the object.
    Creator,
    /// Nobody owns the object.
    Public,
}

/// One route parameter's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteOwner {
    /// The route template, `{name}` per parameter (`/users/{id}/profile`).
    pub route: String,
    /// The parameter.
    pub param: String,
    /// What its value is.
    pub owner: OwnerKind,
}

/// One table attribute that holds an owner.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOwner {
    /// The table.
    pub table: String,
    /// The attribute (in keys, and in conditions).
    pub attribute: String,
    /// `user` or `tenant`.
    pub owner: OwnerKind,
}

/// How ownership is learnt, beyond what the traces show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Principals acting for everyone (administrators, back-office services): marked
    /// `privileged`, and they own nothing they create.
    pub admins: Vec<String>,
    /// Collections (a path segment such as `catalog`, or a table) whose objects nobody owns.
    pub public: Vec<String>,
    /// Route parameters whose meaning the traces do not show.
    pub routes: Vec<RouteOwner>,
    /// Table attributes holding owners.
    pub tables: Vec<TableOwner>,
}

impl Settings {
    /// Reads the `[ownership]` table; every problem is listed.
    pub fn from_toml(table: &toml::Table) -> Result<Settings, String> {
        let settings: Settings = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("`[ownership]`: {}", e.message()))?;
        for t in &settings.tables {
            if !matches!(t.owner, OwnerKind::User | OwnerKind::Tenant) {
                return Err(format!(
                    "`[ownership]` table `{}` attribute `{}`: owner must be `user` or `tenant`",
                    t.table, t.attribute
                ));
            }
        }
        for r in &settings.routes {
            let has_param = r
                .route
                .split('/')
                .any(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) == Some(&r.param));
            if !has_param {
                return Err(format!(
                    "`[ownership]` route `{}` has no parameter `{{{}}}`",
                    r.route, r.param
                ));
            }
        }
        Ok(settings)
    }

    /// Whether `principal` is declared privileged.
    pub fn is_admin(&self, principal: &str) -> bool {
        !principal.is_empty() && self.admins.iter().any(|a| a == principal)
    }

    pub(super) fn is_public(&self, collection: &str) -> bool {
        self.public.iter().any(|p| p == collection)
    }

    pub(super) fn route_mapping(&self, route: &str, param: &str) -> Option<OwnerKind> {
        self.routes
            .iter()
            .find(|r| r.route == route && r.param == param)
            .map(|r| r.owner)
    }

    pub(super) fn table_attribute(&self, table: &str, attribute: &str) -> Option<OwnerKind> {
        self.tables
            .iter()
            .find(|t| t.table == table && t.attribute == attribute)
            .map(|t| t.owner)
    }

    /// Whether the settings declare `table` owner-scoped.
    pub(super) fn scopes_table(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.table == table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::from_toml(&toml::from_str(text).unwrap())
    }

    #[test]
    fn settings_are_checked() {
        let s = parse(
            r#"admins = ["admin"]
               routes = [{ route = "/a/{x}", param = "x", owner = "tenant" }]
               tables = [{ table = "docs", attribute = "author", owner = "user" }]"#,
        )
        .unwrap();
        assert!(s.is_admin("admin") && !s.is_admin(""));
        assert_eq!(s.route_mapping("/a/{x}", "x"), Some(OwnerKind::Tenant));
        assert_eq!(
            parse(r#"admin = ["x"]"#).unwrap_err(),
            "`[ownership]`: unknown field `admin`, expected one of `admins`, `public`, `routes`, `tables`"
        );
        assert_eq!(
            parse(r#"routes = [{ route = "/a/{x}", param = "y", owner = "user" }]"#).unwrap_err(),
            "`[ownership]` route `/a/{x}` has no parameter `{y}`"
        );
        assert_eq!(
            parse(r#"tables = [{ table = "t", attribute = "a", owner = "creator" }]"#).unwrap_err(),
            "`[ownership]` table `t` attribute `a`: owner must be `user` or `tenant`"
        );
    }
}
