"""The outside world: folders now; Slack lives in alerts/."""

import dagster as dg

from resources.folders import DataStoreResource, InboxResource, SourcesResource

defs = dg.Definitions(
    resources={
        "inbox": InboxResource(),
        "sources": SourcesResource(),
        "store": DataStoreResource(),
    }
)

__all__ = ["DataStoreResource", "InboxResource", "SourcesResource", "defs"]
