"""``/cari <kata>``: find stories, archived and open, by words in their title and body.

Filters: ``dari:2026-11-01`` ``sampai:2026-11-30`` ``oleh:rina`` ``status:terbit``. The
answer lists the best matches with number, date, reporter, state and links."""

from __future__ import annotations

from typing import Any

from handlers.turn import Turn
from storage import repo
from storage.search import QueryProblem, parse_query, search

SHOWN = 8


def find(turn: Turn) -> None:
    request = parse_query(turn.args)
    problems = list(request.problems)
    reporter_id = None
    if request.reporter_key:
        person = next(
            (p for p in turn.desk.people.by_id.values() if p.key == request.reporter_key), None
        )
        if person is None:
            problems.append(QueryProblem("unknown_person", f"oleh:{request.reporter_key}"))
        else:
            reporter_id = person.id
    if problems:
        turn.outcome = "bad_search"
        turn.reply("search_unclear", problems=[vars(problem) for problem in problems])
        return
    if not request.words.strip():
        turn.outcome = "usage"
        turn.reply("search_usage")
        return
    hits = search(
        turn.session,
        request.words,
        since=request.since,
        until=request.until,
        reporter_id=reporter_id,
        states=request.states,
        limit=SHOWN + 1,
        tz=turn.options.tz,
    )
    results: list[dict[str, Any]] = []
    for hit in hits[:SHOWN]:
        reporter = turn.desk.people.get(hit.reporter_id)
        links = [
            (item.target, item.result.get("permalink"))
            for item in repo.latest_publications(turn.session, hit.story_id)
            if item.result.get("permalink")
        ]
        results.append(
            {
                "number": hit.number,
                "title": hit.title,
                "state": hit.state,
                "created_at": hit.created_at,
                "reporter": reporter.name if reporter else "-",
                "snippet": hit.snippet,
                "links": links,
            }
        )
    turn.outcome = "search"
    turn.reply("search_results", query=request.words, results=results, more=len(hits) > SHOWN)
