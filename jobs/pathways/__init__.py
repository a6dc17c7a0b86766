"""Stage `pathways`: involuntary admissions, their timelines, and focus persons.

`job.run()` reads restricted.events, restricted.coercion_episodes, restricted.persons and
restricted.silver_residence, and writes analytics.involuntary_admissions
(jobs/pathways/admissions.py + history.py), analytics.admission_timeline (timeline.py) and
analytics.focus_persons (focus.py): incrementally for the persons whose inputs changed
(jobs/incremental.py), or in full with `full_refresh`.
"""
