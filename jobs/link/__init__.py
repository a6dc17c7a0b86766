"""Person linkage: every silver record of every linked source gets exactly one person_key.

Reads `restricted.silver_<source>` (the six linked sources, plus population and
residence), writes `analytics.person_links`, `restricted.persons`,
`restricted.link_candidates`, `restricted.link_review`, `restricted.link_history` and
`restricted.link_runs`; keeps the trained model under `cfg.paths.models_dir()/linkage/`.

Modules: prepare (inputs), model (design, guards, artefact), engine (splink backends),
decide (decision rules and keys), review (clerical decisions: overrides and labels, read from
`restricted.link_decisions`), crosswalk (person_links, history, persons), sensitivity
(other thresholds from stored candidates), evaluate (ground truth; never called here).
"""
