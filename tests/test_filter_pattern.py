"""The CloudWatch Logs filter-pattern evaluator (policies/rules/_filter_pattern.py) and the CIS floors of
policies/floors.yaml: every reviewed pattern of policies/alarms.yaml meets its floor, and a misspelled or missing
event name does not."""

from __future__ import annotations

import pytest

from policies.floors import CisFilter, cis_filters
from policies.rules._filter_pattern import PatternError, compile_pattern, matches
from policies.rules.monitoring import monitored_rows


def test_or_and_precedence_wildcards_and_absent_fields() -> None:
    pattern = '{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ($.eventName != "HeadBucket") }'
    assert matches(pattern, {"errorCode": "Client.UnauthorizedOperation", "eventName": "RunInstances"})
    assert matches(pattern, {"errorCode": "AccessDeniedException", "eventName": "GetObject"})
    assert not matches(pattern, {"errorCode": "AccessDenied", "eventName": "HeadBucket"})
    assert not matches(pattern, {"eventName": "GetObject"})
    assert matches("{ $.a.b != Yes }", {})  # != matches a field the event lacks
    assert matches("{ $.a NOT EXISTS && $.b = 1 }", {"b": 1}) and not matches("{ $.a NOT EXISTS }", {"a": "x"})
    assert matches("{ $.a = 1 || $.b = 2 && $.c = 3 }", {"a": 1})  # && binds tighter
    assert matches("{ $.n >= 3 }", {"n": 4}) and not matches("{ $.n >= 3 }", {"n": 2})


def test_wildcards_only_at_the_ends_as_aws_documents() -> None:
    """AWS: `*Event` matches PutEvent, `Event*` EventId, and "Ev*ent will only match the actual string Ev*ent"."""
    assert matches('{ $.a = "*Event" }', {"a": "PutEvent"}) and not matches('{ $.a = "*Event" }', {"a": "EventId"})
    assert matches('{ $.a = "Event*" }', {"a": "EventName"}) and matches("{ $.a = * }", {"a": 3})
    assert matches('{ $.a = "Ev*ent" }', {"a": "Ev*ent"}) and not matches('{ $.a = "Ev*ent" }', {"a": "Event"})
    assert matches('{ $.a != "arn:aws:sts::1:assumed-role/r/up-*" }', {"a": "arn:aws:sts::1:assumed-role/r/preview"})
    assert not matches('{ $.a != "arn:aws:sts::1:assumed-role/r/up-*" }', {"a": "arn:aws:sts::1:assumed-role/r/up-prod"})
    assert not matches('{ $.a = "x[1]?" }', {"a": "x1!"})  # no other glob characters


def test_boolean_and_null_literals() -> None:
    """`IS TRUE` / `IS FALSE` test a JSON boolean (CloudTrail's readOnly), `IS NULL` a JSON null; a string is neither."""
    assert matches("{ $.readOnly IS FALSE }", {"readOnly": False})
    assert not matches("{ $.readOnly IS FALSE }", {"readOnly": True})
    assert not matches("{ $.readOnly IS FALSE }", {"readOnly": "false"})
    assert not matches("{ $.readOnly IS FALSE }", {})
    assert matches("{ $.readOnly is true && $.b = 1 }", {"readOnly": True, "b": 1})
    assert matches("{ $.responseElements IS NULL }", {"responseElements": None})
    assert not matches("{ $.responseElements IS NULL }", {})
    with pytest.raises(PatternError):
        compile_pattern("{ $.readOnly IS MAYBE }")


@pytest.mark.parametrize("bad", ["$.a = 1", "{ $.a = }", "{ ($.a = 1 }", "{ $.a = 1 $.b = 2 }"])
def test_unparseable_patterns_match_nothing(bad: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(bad)
    assert not matches(bad, {"a": 1})


def covering(patterns: list[str], floor: CisFilter) -> list[str]:
    return [p for p in patterns if all(matches(p, e) for e in floor.events) and not any(matches(p, e) for e in floor.not_events)]


def test_every_cis_floor_is_met_by_exactly_one_reviewed_pattern() -> None:
    patterns = [r.pattern for r in monitored_rows()]
    assert [f.cis for f in cis_filters()] == [f"4.{n}" for n in range(1, 15)]
    for floor in cis_filters():
        assert len(covering(patterns, floor)) == 1, floor.cis


def test_a_misspelled_or_dropped_event_name_misses_its_floor() -> None:
    floor = next(f for f in cis_filters() if f.cis == "4.5")
    row = next(r for r in monitored_rows() if r.id == "cloudtrail-changes")
    assert covering([row.pattern], floor)
    assert not covering([row.pattern.replace("StopLogging", "StopLoging")], floor)
    assert not covering([row.pattern.replace("|| ($.eventName = DeleteTrail)", "")], floor)
