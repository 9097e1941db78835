"""Answering Slack the moment a listener acks.

Bolt (ack-first mode) starts the listener as a task and then checks `ack.response` every 10 ms
until it is set. Every command, button and modal submission therefore waited up to 10 ms after
its ack, and each request in flight woke the event loop 100 times a second; at 32 connections
that caps any Bolt app near 3,200 answers a second however little it does. This runner wakes on
the ack itself (or on the listener ending without one) and otherwise keeps Bolt's behaviour:
the same error, start and completion handlers, the same 3 s `ack_timeout`, the same warning.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

#: The name of the tasks that run listeners after their ack (shutdown waits for them).
LISTENER_TASK = "slack-listener"


class PromptAck(AsyncAck):
    """Bolt's `ack()` that also resolves `answered` once the response is set."""

    def __init__(self, answered: asyncio.Future[None]) -> None:
        super().__init__()
        self.answered = answered

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = await super().__call__(*args, **kwargs)
        _resolve(self.answered)
        return response


class PromptAckRunner(AsyncioListenerRunner):
    """Bolt's asyncio listener runner without the 10 ms polling for the ack."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listeners: set[asyncio.Task[None]] = set()  # strong references until they finish

    @classmethod
    def replacing(cls, runner: AsyncioListenerRunner) -> PromptAckRunner:
        """The same handlers and settings as the runner Bolt built."""
        return cls(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            lazy_listener_runner=runner.lazy_listener_runner,
        )

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        # Lazy listeners, process-before-response, or an ack already given: Bolt's own way. (Bolt
        # creates the context's ack while injecting middleware arguments; unused, it is replaced.)
        given = request.context.get("ack")
        if self.process_before_response or request.lazy_only or listener.lazy_functions or (given and given.response):
            return await super().run(request, response, listener_name, listener, starting_time)
        started = starting_time if starting_time is not None else time.time()
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ack = PromptAck(answered)
        request.context["ack"] = ack
        if listener.auto_acknowledgement:
            await ack()
        task = asyncio.create_task(self._run_listener(ack, request, response, listener), name=LISTENER_TASK)
        self._listeners.add(task)
        task.add_done_callback(self._listeners.discard)
        task.add_done_callback(lambda _task: _resolve(answered))
        if ack.response is None:
            await asyncio.wait({answered}, timeout=max(0.0, listener.ack_timeout - (time.time() - started)))
        if ack.response is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
        return ack.response

    async def _run_listener(
        self, ack: AsyncAck, request: AsyncBoltRequest, response: BoltResponse | None, listener: AsyncListener
    ) -> None:
        """As Bolt runs an ack-first listener: a failure before the ack becomes the answer."""
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)  # type: ignore[arg-type]
        except Exception as error:
            answered = ack.response is not None
            if not answered:
                response = response or BoltResponse(status=500)
                response.status = 500
            # Already answered: the handler only reports. (Bolt then clears the answer, which loses
            # it when the failure comes right after the ack; an answer given stays given here.)
            await self.listener_error_handler.handle(
                error=error, request=request, response=None if answered else response
            )
            if not answered:
                ack.response = response
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
