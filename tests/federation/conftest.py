from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from federation import directory, keys
from federation.models import NodeKey
from tests.federation.support import Authority, ForeignNode, node_entry


@dataclass
class Federation:
    authority: Authority
    local_key: NodeKey
    jilin: ForeignNode
    directory_file: Path

    def local_entry(self, **kwargs: object) -> dict:
        return node_entry(
            "liaoning",
            [
                {
                    "kid": self.local_key.fingerprint,
                    "alg": self.local_key.algorithm,
                    "public_key": self.local_key.public_pem,
                }
            ],
            **kwargs,  # type: ignore[arg-type]
        )

    def publish(self, nodes: list[dict], **kwargs: object) -> None:
        self.authority.write(self.directory_file, nodes, **kwargs)  # type: ignore[arg-type]
        directory.refresh()


@pytest.fixture
def federation(settings, tmp_path) -> Federation:
    """This node (`liaoning`) and a foreign node `jilin` in a signed directory."""
    settings.NODE_ID = "liaoning"
    authority = Authority()
    settings.FEDERATION_ANCHOR = str(
        authority.write_anchor(tmp_path / f"anchor-{id(authority)}.pem")
    )
    settings.FEDERATION_DIRECTORY = str(tmp_path / "directory.json")
    fed = Federation(
        authority, keys.create_key(), ForeignNode("jilin"), tmp_path / "directory.json"
    )
    fed.publish([fed.local_entry(), fed.jilin.entry()])
    return fed
