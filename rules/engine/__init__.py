"""The rules engine: loads rule files, runs them over stored calls, uploads and reuse findings,
and writes hash-chained findings with their evidence.

Modules: loader (YAML with lines, duplicate keys rejected), model (dataclasses and enums),
document + collection (rule and override documents to Rule objects, site overrides), lint,
conditions, modifiers, fields (what each log source offers), frames (DataFrames from the store
or from records), correlations (windows, aggregates, baselines), terms (vendor catalogue),
severity (finding score, team risk), drafts (findings and evidence before storage), evaluate,
chain (hash chain, verify, prune), fixtures (rule fixtures).

Public entry points:

- `rules.engine.collection.load_rules(extra_paths)`: shipped rules plus site files, fail fast.
- `rules.engine.lint.check_paths(paths)`: every problem at once, as `path:line: message`.
- `rules.engine.terms.load_terms()`: the vendor terms catalogue.
- `rules.engine.evaluate.evaluate(store, since, until, extra_rule_paths)`: findings + evidence.
- `rules.engine.severity.team_risk(findings)`: risk score and level per team.
- `agent.store.chain.verify(store)` / `prune_chain_before(store, seq)`: the evidence chain.
"""
