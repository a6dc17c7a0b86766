"""Stage `events`: the conformed event model and coercion episodes.

`job.run()` reads `restricted.silver_<source>` (the six linked sources) and
`analytics.person_links`, builds `restricted.events` (jobs/events/conform.py) and
`restricted.coercion_episodes` (jobs/events/episodes.py, where every merging rule lives),
and writes them, incrementally per person unless `full_refresh`.
"""
