//! "What depends on X": the reverse dependency graph of a snapshot, direct and transitive.
//! Dependencies, Pulumi parents (children go when the parent goes) and `deletedWith` are
//! edges. The preview risk rules reuse this to weigh a delete.

use std::collections::{HashMap, VecDeque};

use super::model::Snapshot;

/// Reverse edges by resource index.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    dependents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl Graph {
    /// Builds the graph. Terraform dependencies name resources without instance keys, so a
    /// dependency on `aws_instance.web` points at every `aws_instance.web[…]`.
    pub fn build(snapshot: &Snapshot) -> Self {
        let n = snapshot.resources.len();
        let mut exact: HashMap<&str, usize> = HashMap::with_capacity(n);
        let mut by_base: HashMap<&str, Vec<usize>> = HashMap::with_capacity(n);
        for (i, r) in snapshot.resources.iter().enumerate() {
            exact.insert(r.address.as_str(), i);
            by_base.entry(r.base_address()).or_default().push(i);
        }
        let targets = |dep: &str| -> Vec<usize> {
            if let Some(i) = exact.get(dep) {
                return vec![*i];
            }
            by_base.get(dep).cloned().unwrap_or_default()
        };
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, r) in snapshot.resources.iter().enumerate() {
            for dep in r.dependencies.iter().chain(r.deleted_with.iter()) {
                for t in targets(dep) {
                    if t != i && !dependents[t].contains(&i) {
                        dependents[t].push(i);
                    }
                }
            }
            if let Some(parent) = &r.parent
                && let Some(&p) = exact.get(parent.as_str())
                && p != i
            {
                children[p].push(i);
                if !dependents[p].contains(&i) {
                    dependents[p].push(i);
                }
            }
        }
        Self {
            dependents,
            children,
        }
    }

    /// Resources that depend on `index` directly.
    pub fn direct_dependents(&self, index: usize) -> &[usize] {
        self.dependents.get(index).map_or(&[], Vec::as_slice)
    }

    /// Pulumi children of `index`.
    pub fn children(&self, index: usize) -> &[usize] {
        self.children.get(index).map_or(&[], Vec::as_slice)
    }

    /// Everything that depends on `index`, directly or through others, in breadth-first order
    /// (nearest first), without `index` itself.
    pub fn transitive_dependents(&self, index: usize) -> Vec<usize> {
        let mut seen = vec![false; self.dependents.len()];
        let mut out = Vec::new();
        let mut queue = VecDeque::new();
        if index < seen.len() {
            seen[index] = true;
            queue.push_back(index);
        }
        while let Some(i) = queue.pop_front() {
            for &d in &self.dependents[i] {
                if !seen[d] {
                    seen[d] = true;
                    out.push(d);
                    queue.push_back(d);
                }
            }
        }
        out
    }
}
