"""The deployments leave pdbi's settings to the environment and the Secret, as the README says.

In Kubernetes an explicit `env` entry beats `envFrom`, so a job variable setting
PDBI_SPARK_MASTER would silently override the Secret the README tells users to fill; in Docker
it would override the pool's env. And the image must read an s3:// lake.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml
from pydantic import AliasChoices

from tasks.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ROOT / "deployments"


def setting_names() -> set[str]:
    """Every environment name a setting is read from (PDBI_*, and DATABASE_URL and the like)."""
    names = {f"PDBI_{name.upper()}" for name in Settings.model_fields}
    for field in Settings.model_fields.values():
        if isinstance(field.validation_alias, AliasChoices):
            names |= {str(choice) for choice in field.validation_alias.choices}
    return names


def job_variables() -> dict[str, dict]:
    prefect = yaml.safe_load((DEPLOYMENTS / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d["work_pool"].get("job_variables") or {} for d in prefect["deployments"]}


def test_no_deployment_pins_a_setting_in_its_job_variables() -> None:
    names = setting_names()
    assert {"PDBI_SPARK_MASTER", "SPARK_MASTER", "DATABASE_URL"} <= names
    variables = job_variables()
    assert set(variables) == {"daily-process", "daily-docker", "daily-kubernetes"}
    for deployment, found in variables.items():
        pinned = names & set(found.get("env") or {})
        assert not pinned, f"{deployment} pins {sorted(pinned)} in its job variables"
        assert not names & set(found), f"{deployment} sets a setting as a job variable"


def test_the_pool_templates_take_settings_from_the_secret_only() -> None:
    pools = yaml.safe_load((DEPLOYMENTS / "work-pools.yaml").read_text(encoding="utf-8"))
    templates = [
        json.loads((DEPLOYMENTS / spec["base_job_template"]).read_text(encoding="utf-8"))
        for spec in pools.values()
        if spec.get("base_job_template")
    ]
    assert templates, "the Kubernetes pool has its template"
    for template in templates:
        defaults = [v.get("default") for v in template["variables"]["properties"].values()]
        text = json.dumps([template["job_configuration"], defaults])  # descriptions may name them
        assert not any(re.search(rf"\b{name}\b", text) for name in setting_names())
        (container,) = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
            "containers"
        ]
        assert container["env"] == "{{ env }}"  # only what a deployment adds, and none do
        assert container["envFrom"] == [
            {"secretRef": {"name": "{{ settings_secret }}", "optional": True}}
        ]
        assert "default" not in template["variables"]["properties"]["env"]


def test_the_image_installs_the_s3_backend() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(r.startswith("s3fs") for r in project["optional-dependencies"]["s3"])
    dockerfile = (DEPLOYMENTS / "Dockerfile").read_text(encoding="utf-8")
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs and all("'.[s3]'" in line for line in installs), installs
