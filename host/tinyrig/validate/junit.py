"""JUnit XML of a validation run: one test case per check (and one for the run itself)."""

from __future__ import annotations

from xml.etree import ElementTree

from tinyrig.validate.report import ValidationReport


def render_junit(report: ValidationReport) -> str:
    suite = ElementTree.Element("testsuite", name=f"tinyrig validate {report.model}",
                                time=f"{report.seconds:.3f}")
    cases = 0
    failures = 0
    errors = 0
    run = ElementTree.SubElement(suite, "testcase", classname=report.model,
                                 name=f"run on {report.device}", time=f"{report.seconds:.3f}")
    cases += 1
    if not report.complete:
        errors += 1
        ElementTree.SubElement(run, "error", message=report.error or "incomplete").text = (
            f"{report.samples} of {report.requested} samples finished")
    for check in report.checks:
        case = ElementTree.SubElement(suite, "testcase", classname=report.model,
                                      name=check.expression, time="0")
        cases += 1
        value = "n/a" if check.value is None else f"{check.value:.6g}"
        if check.failed:
            failures += 1
            ElementTree.SubElement(case, "failure", message=f"{check.expression}: {value}"
                                   ).text = check.detail
        elif check.value is None:
            ElementTree.SubElement(case, "skipped", message=check.detail)
        ElementTree.SubElement(case, "system-out").text = f"{check.detail}: {value}"
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    ElementTree.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        suite, encoding="unicode") + "\n"
