"""The repository carries what it needs and cites itself: no path outside it anywhere,
every `docs/reference/... §N.M` citation names a section that exists, and the statements of
the docs that the code can check hold (part-of label on every model object, quota figure,
platform/ deploys the gateway)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, overlay_names

REFERENCE = REPO_ROOT / "docs" / "reference"
# A citation: the file, then one or more section numbers (`§4.3`, `§0, §4.3`, `§4.3-4.4`).
CITATION = re.compile(
    r"docs/reference/(?P<file>[\w.-]+\.md)(?P<sections>(?:[ ,;and]*§\s?[\d.]+(?:[-–][\d.]+)?)+)"
)
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)?)(?:[-–](\d+(?:\.\d+)?))?")
# "ref §N.M" in the manifests' comments means docs/reference/vllm.md (base/deployment.yaml).
REF_CITATION = re.compile(r"\bref §(\d+(?:\.\d+)?)(?:[-–](\d+(?:\.\d+)?))?")
# Paths of the machine the repository was written on, or of a folder beside the checkout.
# (/home/vllm and /home/ray are the HOME folders inside the vLLM and Ray images.)
OUTSIDE = re.compile(r"/work/|\.\./shared\b|/Users/|/home/(?!vllm\b|ray\b)")
#: Third-party manifests kept as published (tests/corpus/README.md, tests/corpus2/README.md).
NOT_YET = ("tests/corpus/", "tests/corpus2/")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
    files = []
    for name in listed.stdout.decode().split("\0"):
        path = REPO_ROOT / name
        if not name or not path.is_file() or name.startswith("schemas/"):
            continue
        try:
            files.append((name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return files


def headings(name: str) -> set[str]:
    found = set()
    for line in (REFERENCE / name).read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{2,4} (\d+(?:\.\d+)?)[. ]", line)
        if match:
            found.add(match.group(1))
    return found


def test_no_path_outside_the_repository():
    here = Path(__file__).relative_to(REPO_ROOT).as_posix()  # the patterns themselves
    offenders = [
        f"{name}:{i}: {line.strip()}"
        for name, text in tracked_text_files()
        if not name.startswith(NOT_YET) and name != here
        for i, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, "paths outside the repository:\n" + "\n".join(offenders)


def test_every_reference_citation_resolves():
    known = {path.name: headings(path.name) for path in REFERENCE.glob("*.md")}
    cited, missing = 0, []
    for name, text in tracked_text_files():
        flat = re.sub(r"\s*\n\s*(?:#|//)?\s*", " ", text)  # citations wrap across lines
        for match in CITATION.finditer(flat):
            file = match.group("file")
            for first, last in SECTION.findall(match.group("sections")):
                for section in filter(None, (first, last)):
                    cited += 1
                    if file not in known or section.rstrip(".") not in known[file]:
                        missing.append(f"{name}: docs/reference/{file} §{section}")
        if name.startswith(("base/", "components/", "overlays/", "tests/e2e/")):
            for first, last in REF_CITATION.findall(text):
                for section in filter(None, (first, last)):
                    cited += 1
                    if section not in known["vllm.md"]:
                        missing.append(f"{name}: ref §{section} (docs/reference/vllm.md)")
    assert cited > 50, "the citation pattern no longer finds the citations"
    assert not missing, "citations of sections that do not exist:\n" + "\n".join(sorted(set(missing)))


@pytest.mark.parametrize("name", ["vllm.md", "tooling.md"])
def test_reference_documents_name_their_sources(name):
    text = (REFERENCE / name).read_text(encoding="utf-8")
    sections = re.split(r"(?m)^### ", text)[1:]
    assert sections
    for section in sections:
        title = section.splitlines()[0]
        # Every subsection points at where its facts come from: a source file, an issue or
        # pull request, a document, or an earlier section that does.
        assert re.search(
            r"src `|`[\w./-]+\.(py|go|md|yaml|json|ts)`|#\d+|docs |§\d|\(\w[\w./-]+ [0-9a-f]{7,}", section
        ), f"{name} ### {title}: no source named"


def test_every_object_of_a_model_carries_the_part_of_label():
    """docs/deploying.md §8 finds a model's objects with -l app.kubernetes.io/part-of=llmfleet."""
    from llmfleet.pipeline.render import find_renderer, render

    renderer = find_renderer()
    for name in overlay_names():
        rendered = render(REPO_ROOT / "overlays" / name, renderer)
        assert rendered.ok, rendered.error
        for obj in yaml.safe_load_all(rendered.text):
            if obj:
                labels = obj["metadata"].get("labels") or {}
                assert labels.get("app.kubernetes.io/part-of") == "llmfleet", (
                    f"{name}: {obj['kind']} {obj['metadata']['name']} lacks app.kubernetes.io/part-of"
                )


def test_documented_quota_and_gateway_match_the_manifests():
    quota = yaml.safe_load((REPO_ROOT / "platform" / "resource-quota.yaml").read_text())
    gpus = quota["spec"]["hard"]["requests.nvidia.com/gpu"]
    architecture = (REPO_ROOT / "docs" / "architecture.md").read_text()
    assert f"`requests.nvidia.com/gpu: {gpus}`" in architecture
    platform = yaml.safe_load((REPO_ROOT / "platform" / "kustomization.yaml").read_text())
    assert "gateway" in platform["resources"]
    assert "model gateway" in (REPO_ROOT / "docs" / "deploying.md").read_text()


def test_multinode_transformers_copy_is_the_same():
    def body(path):
        return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]

    assert body(REPO_ROOT / "base-multinode" / "transformers" / "part-of-label.yaml") == body(
        REPO_ROOT / "base" / "transformers" / "part-of-label.yaml"
    )
