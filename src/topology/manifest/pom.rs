//! Parser of Maven's `pom.xml`: coordinates, packaging, the parent, properties,
//! modules (including those of profiles), dependencies, dependency management and
//! build plugins with their configuration.
//!
//! Element names are compared without their namespace, so a POM with or without the
//! `http://maven.apache.org/POM/4.0.0` namespace reads the same. `${...}` references
//! are kept as written; [`Pom::resolve`] expands them against the properties.

use std::collections::BTreeMap;

use roxmltree::Node;

use super::ManifestError;

/// Past this length an expansion stops (properties referring to each other twice can
/// double a value at every round).
const MAX_RESOLVED: usize = 16 * 1024;

/// A parsed `pom.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pom {
    /// `groupId` (may be inherited from the parent: see [`Pom::effective_group_id`]).
    pub group_id: Option<String>,
    /// `artifactId`.
    pub artifact_id: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `packaging` (`jar` when absent).
    pub packaging: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// The `<parent>`.
    pub parent: Option<PomParent>,
    /// `<properties>`, by name.
    pub properties: BTreeMap<String, String>,
    /// `<modules>`, then the modules of every profile, in file order, without repeats.
    pub modules: Vec<String>,
    /// `<dependencies>`.
    pub dependencies: Vec<PomDependency>,
    /// `<dependencyManagement><dependencies>` (BOM imports show up here).
    pub managed_dependencies: Vec<PomDependency>,
    /// `<build><plugins>`.
    pub plugins: Vec<PomPlugin>,
    /// `<build><pluginManagement><plugins>`.
    pub managed_plugins: Vec<PomPlugin>,
    /// `<build><finalName>`.
    pub final_name: Option<String>,
}

/// The `<parent>` of a POM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PomParent {
    /// `groupId`.
    pub group_id: Option<String>,
    /// `artifactId`.
    pub artifact_id: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `relativePath` (Maven's default is `../pom.xml`; an empty element means "not
    /// in this tree").
    pub relative_path: Option<String>,
}

/// One dependency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PomDependency {
    /// `groupId`.
    pub group_id: String,
    /// `artifactId`.
    pub artifact_id: String,
    /// `version`.
    pub version: Option<String>,
    /// `scope` (`compile` when absent).
    pub scope: Option<String>,
    /// `type` (`jar` when absent; `pom` for a BOM import).
    pub kind: Option<String>,
    /// `optional`.
    pub optional: bool,
}

/// One build plugin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PomPlugin {
    /// `groupId` (`org.apache.maven.plugins` when absent).
    pub group_id: Option<String>,
    /// `artifactId`.
    pub artifact_id: String,
    /// `version`.
    pub version: Option<String>,
    /// Every leaf element of its `<configuration>` (and of its executions'
    /// configurations), by element name, first occurrence wins: `mainClass`, `release`,
    /// `source`...
    pub configuration: BTreeMap<String, String>,
    /// The goals of its executions.
    pub goals: Vec<String>,
}

impl Pom {
    /// The group id, or the parent's when inherited.
    pub fn effective_group_id(&self) -> Option<&str> {
        self.group_id
            .as_deref()
            .or_else(|| self.parent.as_ref().and_then(|p| p.group_id.as_deref()))
    }

    /// The version, or the parent's when inherited.
    pub fn effective_version(&self) -> Option<&str> {
        self.version
            .as_deref()
            .or_else(|| self.parent.as_ref().and_then(|p| p.version.as_deref()))
    }

    /// The packaging (`jar` when absent).
    pub fn packaging(&self) -> &str {
        self.packaging.as_deref().unwrap_or("jar")
    }

    /// Expands `${name}` references with the properties and the project's own
    /// coordinates (`project.version`, `project.artifactId`...). Unknown references are
    /// left as written; expansion stops after a few rounds, so cycles are harmless.
    pub fn resolve(&self, value: &str) -> String {
        self.resolve_with(value, &BTreeMap::new())
    }

    /// Like [`Pom::resolve`], falling back to `inherited` properties (a parent's).
    pub fn resolve_with(&self, value: &str, inherited: &BTreeMap<String, String>) -> String {
        let mut current = value.to_string();
        for _ in 0..8 {
            if !current.contains("${") {
                break;
            }
            let mut out = String::with_capacity(current.len());
            let mut rest = current.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let key = &after[..end];
                match self.lookup(key).or_else(|| inherited.get(key).cloned()) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push_str("${");
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
                if out.len() > MAX_RESOLVED {
                    return out;
                }
            }
            out.push_str(rest);
            if out == current || out.len() > MAX_RESOLVED {
                return out;
            }
            current = out;
        }
        current
    }

    fn lookup(&self, key: &str) -> Option<String> {
        if let Some(v) = self.properties.get(key) {
            return Some(v.clone());
        }
        let key = key.strip_prefix("project.").or(key.strip_prefix("pom."))?;
        match key {
            "version" => self.effective_version().map(str::to_string),
            "groupId" => self.effective_group_id().map(str::to_string),
            "artifactId" => self.artifact_id.clone(),
            "name" => self.name.clone(),
            "parent.version" => self.parent.as_ref().and_then(|p| p.version.clone()),
            _ => None,
        }
    }
}

/// Parses a `pom.xml`.
pub fn parse(text: &str) -> Result<Pom, ManifestError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| ManifestError::new(e.to_string()))?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err(ManifestError::new(format!(
            "the root element is <{}>, not <project>",
            project.tag_name().name()
        )));
    }
    let mut pom = Pom {
        group_id: child_text(project, "groupId"),
        artifact_id: child_text(project, "artifactId"),
        version: child_text(project, "version"),
        packaging: child_text(project, "packaging"),
        name: child_text(project, "name"),
        parent: child(project, "parent").map(|p| PomParent {
            group_id: child_text(p, "groupId"),
            artifact_id: child_text(p, "artifactId"),
            version: child_text(p, "version"),
            relative_path: child(p, "relativePath")
                .map(|r| r.text().map(str::trim).unwrap_or_default().to_string()),
        }),
        ..Pom::default()
    };
    if let Some(props) = child(project, "properties") {
        for p in props.children().filter(Node::is_element) {
            pom.properties
                .entry(p.tag_name().name().to_string())
                .or_insert_with(|| text_of(p));
        }
    }
    let mut module_lists: Vec<Node<'_, '_>> = child(project, "modules").into_iter().collect();
    if let Some(profiles) = child(project, "profiles") {
        module_lists
            .extend(children(profiles, "profile").filter_map(|profile| child(profile, "modules")));
    }
    for list in module_lists {
        for m in children(list, "module") {
            let m = text_of(m);
            if !m.is_empty() && !pom.modules.contains(&m) {
                pom.modules.push(m);
            }
        }
    }
    if let Some(deps) = child(project, "dependencies") {
        pom.dependencies = dependencies(deps);
    }
    if let Some(deps) =
        child(project, "dependencyManagement").and_then(|m| child(m, "dependencies"))
    {
        pom.managed_dependencies = dependencies(deps);
    }
    if let Some(build) = child(project, "build") {
        pom.final_name = child_text(build, "finalName");
        if let Some(plugins) = child(build, "plugins") {
            pom.plugins = plugins_of(plugins);
        }
        if let Some(plugins) = child(build, "pluginManagement").and_then(|m| child(m, "plugins")) {
            pom.managed_plugins = plugins_of(plugins);
        }
    }
    Ok(pom)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_string()
}

fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(text_of).filter(|t| !t.is_empty())
}

fn dependencies(list: Node<'_, '_>) -> Vec<PomDependency> {
    children(list, "dependency")
        .filter_map(|d| {
            Some(PomDependency {
                group_id: child_text(d, "groupId").unwrap_or_default(),
                artifact_id: child_text(d, "artifactId")?,
                version: child_text(d, "version"),
                scope: child_text(d, "scope"),
                kind: child_text(d, "type"),
                optional: child_text(d, "optional").as_deref() == Some("true"),
            })
        })
        .collect()
}

fn plugins_of(list: Node<'_, '_>) -> Vec<PomPlugin> {
    children(list, "plugin")
        .filter_map(|p| {
            let mut plugin = PomPlugin {
                group_id: child_text(p, "groupId"),
                artifact_id: child_text(p, "artifactId")?,
                version: child_text(p, "version"),
                ..PomPlugin::default()
            };
            let mut configs: Vec<Node<'_, '_>> = child(p, "configuration").into_iter().collect();
            if let Some(execs) = child(p, "executions") {
                for e in children(execs, "execution") {
                    configs.extend(child(e, "configuration"));
                    if let Some(goals) = child(e, "goals") {
                        plugin.goals.extend(
                            children(goals, "goal")
                                .map(text_of)
                                .filter(|g| !g.is_empty()),
                        );
                    }
                }
            }
            for config in configs {
                for leaf in config
                    .descendants()
                    .filter(|n| n.is_element() && !n.children().any(|c| c.is_element()))
                {
                    let value = text_of(leaf);
                    if !value.is_empty() {
                        plugin
                            .configuration
                            .entry(leaf.tag_name().name().to_string())
                            .or_insert(value);
                    }
                }
            }
            Some(plugin)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.2.4</version>
    <relativePath/> <!-- lookup parent from repository -->
  </parent>
  <artifactId>demo</artifactId>
  <version>${revision}</version>
  <packaging>pom</packaging>
  <properties>
    <revision>1.4.0</revision>
    <java.version>21</java.version>
    <maven.compiler.release>${java.version}</maven.compiler.release>
  </properties>
  <modules>
    <module>api</module>
    <module>common</module>
  </modules>
  <profiles>
    <profile>
      <id>extra</id>
      <modules><module>tools</module><module>api</module></modules>
    </profile>
  </profiles>
  <dependencies>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
      <scope>runtime</scope>
    </dependency>
    <dependency><groupId>x</groupId></dependency>
  </dependencies>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.testcontainers</groupId>
        <artifactId>testcontainers-bom</artifactId>
        <version>1.19.7</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <build>
    <finalName>app</finalName>
    <plugins>
      <plugin>
        <groupId>org.springframework.boot</groupId>
        <artifactId>spring-boot-maven-plugin</artifactId>
        <configuration>
          <mainClass>com.acme.DemoApplication</mainClass>
          <excludes><exclude><groupId>org.projectlombok</groupId></exclude></excludes>
        </configuration>
        <executions>
          <execution><goals><goal>repackage</goal></goals></execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn full_pom() {
        let pom = parse(POM).unwrap();
        assert_eq!(pom.artifact_id.as_deref(), Some("demo"));
        assert_eq!(pom.packaging(), "pom");
        assert_eq!(pom.effective_group_id(), Some("org.springframework.boot"));
        let parent = pom.parent.as_ref().unwrap();
        assert_eq!(
            parent.artifact_id.as_deref(),
            Some("spring-boot-starter-parent")
        );
        assert_eq!(parent.relative_path.as_deref(), Some(""));
        assert_eq!(pom.modules, vec!["api", "common", "tools"]);
        assert_eq!(pom.resolve("${project.version}"), "1.4.0");
        assert_eq!(pom.resolve("${maven.compiler.release}"), "21");
        assert_eq!(pom.resolve("v${unknown}-x"), "v${unknown}-x");
        assert_eq!(pom.dependencies.len(), 1);
        assert_eq!(pom.dependencies[0].scope.as_deref(), Some("runtime"));
        assert_eq!(pom.managed_dependencies[0].kind.as_deref(), Some("pom"));
        assert_eq!(pom.final_name.as_deref(), Some("app"));
        let boot = &pom.plugins[0];
        assert_eq!(
            boot.configuration.get("mainClass").map(String::as_str),
            Some("com.acme.DemoApplication")
        );
        assert_eq!(boot.goals, vec!["repackage"]);
    }

    #[test]
    fn no_namespace_and_inheritance() {
        let pom = parse(
            "<project><parent><groupId>g</groupId><artifactId>p</artifactId><version>2</version></parent><artifactId>a</artifactId></project>",
        )
        .unwrap();
        assert_eq!(pom.effective_group_id(), Some("g"));
        assert_eq!(pom.effective_version(), Some("2"));
        assert_eq!(pom.packaging(), "jar");
        assert_eq!(pom.parent.unwrap().relative_path, None);
    }

    #[test]
    fn cycles_and_errors() {
        let pom =
            parse("<project><properties><a>${b}</a><b>${a}</b></properties></project>").unwrap();
        let _ = pom.resolve("${a}");
        assert!(parse("<project><artifactId>x</artifactId>").is_err());
        assert!(parse("<settings/>").is_err());
        assert!(parse("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_random_input(text in "[a-z<>/ ${}.\n]{0,160}") {
            if let Ok(p) = parse(&text) {
                let _ = p.resolve(&text);
            }
        }
    }
}
