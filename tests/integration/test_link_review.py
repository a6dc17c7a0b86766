"""`pathways review` end to end: a scripted clerical session changes a link on the next run.

The lake of test_link_run.py: the police record `twin` has two register candidates (P3, P4, a
twin-like pair) and goes to review as `ambiguous`. A decided match links it to the chosen person
on the next run; a decided non-match removes that candidate, so the other one links.
"""
from __future__ import annotations

import csv
import math

import pytest
from linkage_synth import write_silver
from test_link_run import POLICE, REGISTER, P, _links, _write_register
from typer.testing import CliRunner

import jobs.link.job as link
from jobs import lake
from jobs.link import model, review
from jobs.run_context import RunContext
from schemas.tables import LINK_CANDIDATES, LINK_DECISIONS, LINK_HISTORY, LINK_REVIEW

pytestmark = pytest.mark.integration


def _first_run(spark, cfg) -> None:
    _write_register(spark, cfg, REGISTER)
    write_silver(spark, cfg, "police", POLICE)
    link.run(spark, RunContext(cfg=cfg, run_id="run1"))
    assert _links(spark, cfg)["twin"].link_status == "review"


def test_scripted_session_links_the_chosen_person_on_the_next_run(spark, lake_cfg):
    cfg = lake_cfg
    _first_run(spark, cfg)
    pairs = review.pending(spark, cfg)
    assert sorted((p.source_record_id, p.candidate_key) for p in pairs) == [("twin", P[3]), ("twin", P[4])]
    assert [p.candidate_rank for p in pairs] == [1, 2]
    # the evidence: splink's level per key with its weight; with the prior, they sum to the pair's weight
    p4 = next(p for p in pairs if p.candidate_key == P[4])
    assert [e.comparison for e in p4.evidence] == ["birth_date", "sex", "name", "municipality"]
    assert p4.evidence[0].level.lower().startswith("exact") and p4.evidence[0].match_weight > 5
    prior = model.load_current(cfg.paths.models_dir()).settings["probability_two_random_records_match"]
    for p in pairs:  # evidence + the prior's weight = splink's match weight of the pair
        assert p.match_weight == pytest.approx(math.log2(prior / (1 - prior)) + sum(e.match_weight for e in p.evidence))
    shown = " ".join(f"{e.comparison} {e.level}" for p in pairs for e in p.evidence).lower()
    assert not {"jensen", "anne", "1985", "03-14"} & set(shown.replace("-", " ").split()) and "1985" not in shown

    # the scripted session, as a person would type it: skip P3, match P4 (answers on stdin, queue order)
    from flows.cli import app

    answers = "".join("m\n" if p.candidate_key == P[4] else "s\n" for p in pairs)
    result = CliRunner().invoke(app, ["--env", "ci", "--lake", str(cfg.paths.lake_dir()), "review"], input=answers)
    assert result.exit_code == 0, result.output
    assert "1 decisions stored" in result.output
    stored = [(r.source_record_id, r.candidate_key, r.decision)
              for r in lake.read(spark, cfg.paths, LINK_DECISIONS).collect()]
    assert stored == [("twin", P[4], "match")]
    assert review.pending(spark, cfg) == [p for p in pairs if p.candidate_key == P[3]]  # the decided pair left

    link.run(spark, RunContext(cfg=cfg, run_id="run2"))
    twin = _links(spark, cfg)["twin"]
    assert (twin.person_key, twin.link_status, twin.link_probability, twin.link_method) == (
        P[4], "linked", 1.0, "probabilistic")
    assert lake.read(spark, cfg.paths, LINK_REVIEW).count() == 0
    history = [(h.source_record_id, h.new_key) for h in lake.read(spark, cfg.paths, LINK_HISTORY).collect()]
    assert history == [("twin", P[4])]


def test_a_non_match_removes_the_candidate(spark, lake_cfg, tmp_path):
    cfg = lake_cfg
    _first_run(spark, cfg)
    answers = tmp_path / "decisions.csv"
    with answers.open("w", newline="") as fh:
        csv.writer(fh).writerows([["source", "source_record_id", "candidate_key", "decision"],
                                  ["police", "twin", P[3], "non_match"]])
    decided = review.session(review.pending(spark, cfg), review.answers_from_csv(answers))
    assert review.save_decisions(spark, cfg, decided, decided_by="tester") == 1
    link.run(spark, RunContext(cfg=cfg, run_id="run2"))
    twin = _links(spark, cfg)["twin"]
    # P3 is no candidate any more; P4 alone is clear of the margin rule and above the threshold
    assert (twin.person_key, twin.link_status) == (P[4], "linked") and twin.link_probability < 1.0
    candidates = {r.candidate_key for r in lake.read(spark, cfg.paths, LINK_CANDIDATES)
                  .where("source_record_id = 'twin'").collect()}
    assert candidates == {P[4]}


def test_decided_matches_are_training_labels(spark):
    """clerical_labels + prepare.labelled_frame: the record, labelled with its decided person."""
    import datetime as dt

    from jobs.link import prepare

    records = spark.createDataFrame(
        [("police", "twin", None, dt.date(1985, 3, 14), "F", "aa bb", "101", dt.date(2023, 5, 1)),
         ("police", "other", None, dt.date(1990, 1, 1), "M", "cc", "101", dt.date(2023, 5, 1))],
        "source string, source_record_id string, person_id string, birth_date date, sex string, "
        "name_bigrams string, municipality_code string, record_date date")
    decisions = spark.createDataFrame(
        [("police", "twin", P[4], "match", dt.datetime(2026, 1, 2)),
         ("police", "twin", P[3], "match", dt.datetime(2026, 1, 1)),      # older: superseded
         ("police", "other", P[5], "non_match", dt.datetime(2026, 1, 1))],
        "source string, source_record_id string, candidate_key string, decision string, decided_at timestamp_ntz")
    labels = review.clerical_labels(records, decisions)
    register = spark.createDataFrame([(P[3],), (P[4],), (P[5],)], "person_id string")
    frame = prepare.labelled_frame(labels, register, None, max_rows=10, seed=1)
    assert [(r.unique_id, r.label_person_id) for r in frame.collect()] == [("police|twin", P[4])]


def test_linkage_report_opens_offline_with_splinks_charts(spark, lake_cfg, artifacts_dir):
    """The report (restricted zone) embeds splink's charts as PNGs and links their interactive
    pages; headless Chromium with the network off loads both and asks for nothing but files."""
    import pandas as pd

    from jobs.link.report import report_dir, write_report

    cfg = lake_cfg
    _first_run(spark, cfg)
    truth = {"typo": P[2], "twin": P[3], "stranger": None, "replacement": None, "exact": P[1]}
    cfg.paths.ground_truth_dir().mkdir(parents=True)
    pd.DataFrame({"source": "police", "record_id": list(truth), "true_person_id": list(truth.values())}).to_parquet(
        cfg.paths.ground_truth_dir() / "true_persons.parquet")
    md_path, html_path, _ = write_report(spark, cfg, "review lake")
    assert html_path.parent == report_dir(cfg) and str(report_dir(cfg)).startswith(str(cfg.paths.lake_dir() / "restricted"))
    text = html_path.read_text(encoding="utf-8")
    for name in ("match_weights", "m_u_parameters", "threshold_selection", "precision_recall", "unlinkables",
                 "review_waterfall"):
        assert f'id="{name}"' in text and (html_path.parent / "charts" / f"{name}.html").is_file(), name
    assert "cdn.jsdelivr" not in text and "http://" not in text and "https://" not in text
    waterfall = (html_path.parent / "charts" / "review_waterfall.html").read_text(encoding="utf-8")
    assert "jensen" not in waterfall and "1985-03-14" not in waterfall and "cdn.jsdelivr" not in waterfall
    for page_path, shot, min_images in ((html_path, "linkage_report.png", 7),
                                        (html_path.parent / "charts" / "review_waterfall.html",
                                         "linkage_review_waterfall.png", 0)):
        attempted, errors = _open_offline(page_path, artifacts_dir / shot, min_images)
        assert attempted == [] and errors == [], (attempted, errors)


def _open_offline(path, screenshot, min_images):
    """Open `path` in headless Chromium, offline, every non-file request blocked and recorded."""
    from playwright.sync_api import sync_playwright

    attempted, errors = [], []

    def only_files(route):
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.route("**/*", only_files)
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            if min_images:
                images = page.locator("img.chart")
                assert images.count() >= min_images - 1
                assert all(images.nth(i).evaluate("i => i.naturalWidth") > 100 for i in range(images.count()))
            else:  # the interactive page: Vega draws the chart from the inlined libraries
                page.wait_for_selector("canvas, svg.marks", timeout=30_000)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return attempted, errors
