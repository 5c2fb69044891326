"""docker-compose.yml's prometheus and grafana services fit the files they mount: the scrape
config reads the token file the service writes, targets the web service (an allowed host),
and Grafana's provisioning points at the dashboard and datasource the repository holds."""

import json
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

BASE = Path(settings.BASE_DIR)


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((BASE / "docker-compose.yml").read_text())
    return loaded


def test_prometheus_scrapes_the_web_service_with_the_token_file_it_writes() -> None:
    services = _compose()["services"]
    prometheus = services["prometheus"]
    config = yaml.safe_load((BASE / "deploy/prometheus/prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    token_file = job["authorization"]["credentials_file"]
    assert f"> {token_file}" in prometheus["command"][0]
    assert "/etc/prometheus/sibyl/prometheus.yml" in prometheus["command"][0]
    assert "./deploy/prometheus:/etc/prometheus/sibyl:ro" in prometheus["volumes"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    assert services["web"]["environment"]["ALLOWED_HOSTS"].endswith(",web")
    # every process group that records metrics writes them under the shared root
    for name in ("web", "runs", "control"):
        assert "deploy/with-metrics-dir.sh" in services[name]["command"]
        assert "metrics:/var/lib/sibyl-metrics" in services[name]["volumes"]


def test_grafana_provisions_the_repository_dashboard_and_datasource() -> None:
    grafana = _compose()["services"]["grafana"]
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in grafana["volumes"] if ":ro" in volume)
    provisioning = BASE / "deploy/grafana/provisioning"
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboards_dir = mounts["./deploy/grafana/dashboards"]
    provider = yaml.safe_load((provisioning / "dashboards/sibyl.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == dashboards_dir
    source = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    uid = source["datasources"][0]["uid"]
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    dashboard = json.loads((BASE / "deploy/grafana/dashboards/sibyl.json").read_text())
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {uid}
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{dashboards_dir}/sibyl.json"
