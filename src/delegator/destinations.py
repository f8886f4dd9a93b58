"""Where summaries and digests go, built for the summaries at the composition root.

The summaries see only `ports.Destination`; this factory knows the adapters behind it (notify's
webhook, email and Asana destinations) and what each needs: a secret read from the environment
or a file, the SMTP settings, the client's Asana client and the gid of a project named in the
rule file. It also names each destination for the store (``destination_key``): stable and
secret-free, and the only name a destination has there (the adapters have none of their own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from delegator.asana import AsanaError
from delegator.asana.backend import AsanaBackend
from delegator.clients import ClientEntry
from delegator.clock import Clock
from delegator.core.schema import Destination as DestinationSpec
from delegator.notify import (
    AsanaComment,
    AsanaStatusUpdate,
    AsanaTask,
    Email,
    SmtpSettings,
    Webhook,
    webhook_source,
    webhook_url,
)
from delegator.ports import BackendError, DeliveryError, Destination
from delegator.redact import SECRETS, SecretRegistry
from delegator.service import ClientError, ClientRuntime
from delegator.settings import Settings


def destination_key(spec: DestinationSpec, recipient: str) -> str:
    """A stable, secret-free name for a destination: the store's key for what was sent.

    Made from the rule file's words (a project as it is written there, by name or gid), never
    from what a destination is built into. Rows written by earlier versions carry these keys:
    a change here would send each period again (tests/adapters/test_destination_keys.py)."""
    if spec.webhook is not None:
        return f"webhook:{webhook_source(spec.webhook)}"
    if spec.email is not None:
        if spec.email.to_assistant:
            return f"email:assistant:{recipient}"
        return "email:" + ",".join(sorted(spec.email.to))
    if spec.asana_comment is not None:
        return f"asana_comment:{spec.asana_comment.task}"
    target = spec.asana_status or spec.asana_task
    assert target is not None
    return f"{spec.kind}:{target.project.gid or target.project.name}"


def _config_error(text: str) -> DeliveryError:
    return DeliveryError(text, retryable=False)


@dataclass
class Destinations:
    """Builds the destination a rule file's ``to:`` entry names, for one client and recipient."""

    settings: Settings
    environ: Mapping[str, str]
    runtime_for: Callable[[ClientEntry], ClientRuntime]
    clock: Clock
    # The process's secrets (the fleet's): a webhook URL is registered once, when first built.
    secrets: SecretRegistry = field(default_factory=lambda: SECRETS)

    def key(self, spec: DestinationSpec, recipient: str) -> str:
        """The ledger's key for the destination: ``destination_key``."""
        return destination_key(spec, recipient)

    def build(self, entry: ClientEntry, spec: DestinationSpec, recipient: str) -> Destination:
        """The destination; DeliveryError (not retryable) when it cannot be built: a missing
        variable, an unknown project, an assistant without an address."""
        kind = spec.kind
        head = entry.loaded.head
        assert head is not None
        if spec.webhook is not None:
            url = webhook_url(spec.webhook, self.environ)
            if url not in self.secrets:
                self.secrets.register(url)
            return Webhook(url, webhook_source(spec.webhook))
        if spec.email is not None:
            addresses = self._addresses(entry, spec, recipient)
            settings = self.settings
            if not settings.smtp_host:
                raise _config_error("email needs the smtp.host setting")
            smtp = SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=settings.smtp_password,
                sender=settings.smtp_from or "delegator@localhost",
            )
            return Email(smtp, addresses, clock=self.clock)
        try:
            runtime = self.runtime_for(entry)
            runtime.refresh(self.clock.now())
        except (ClientError, BackendError) as exc:
            raise DeliveryError(
                f"Asana is not reachable for {entry.key}: {exc}", retryable=True
            ) from None
        backend = runtime.backend
        if not isinstance(backend, AsanaBackend):
            raise _config_error(f"{kind} needs the client's tasks to be in Asana")
        client = backend.client
        if spec.asana_comment is not None:
            return AsanaComment(client, str(spec.asana_comment.task))
        target = spec.asana_status if spec.asana_status is not None else spec.asana_task
        assert target is not None
        project_gid = target.project.gid
        if project_gid is None:
            try:
                found = backend.lookups.project(head.client.workspace, target.project.name or "")
            except AsanaError as exc:
                raise DeliveryError(f"looking up the project: {exc}", retryable=True) from None
            if found is None:
                raise _config_error(f"no project called {target.project.name!r} in the workspace")
            project_gid = str(found["gid"])
        if spec.asana_status is not None:
            return AsanaStatusUpdate(client, project_gid)
        assignee = None
        if recipient:
            person = runtime.directory.assistants.get(recipient)
            assignee = person.gid if person is not None and person.gid else None
        return AsanaTask(client, project_gid, assignee, workspace_gid=head.client.workspace)

    @staticmethod
    def _addresses(entry: ClientEntry, spec: DestinationSpec, recipient: str) -> list[str]:
        assert spec.email is not None
        if spec.email.to_assistant:
            head = entry.loaded.head
            assert head is not None
            user = head.assistants[recipient].user if recipient in head.assistants else ""
            if "@" not in user:
                raise _config_error(f"assistant {recipient} has no email address")
            return [user]
        return [str(address) for address in spec.email.to]
