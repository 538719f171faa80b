"""The dashboard app: panels that show snapshots, keys that send commands to the driver.

Attributes down, messages up: the app holds the latest snapshot the driver posted and renders
the visible panel from it at most ``REFRESH_SECONDS`` apart; keys become commands on the
driver's queue. It never touches the world.
"""

from __future__ import annotations

import gc
import time

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Footer, Input, TabbedContent, TabPane, Tabs

from subnetsim.tui import messages
from subnetsim.tui.snapshot import Snapshot
from subnetsim.tui.widgets.ab import ABPane
from subnetsim.tui.widgets.charts import ChartsPane
from subnetsim.tui.widgets.confirm import ConfirmScreen
from subnetsim.tui.widgets.governance import GovernancePane
from subnetsim.tui.widgets.help import HelpScreen
from subnetsim.tui.widgets.inspector import InspectorScreen
from subnetsim.tui.widgets.log import LogPane
from subnetsim.tui.widgets.metagraph import MetagraphPane
from subnetsim.tui.widgets.overview import OverviewPane
from subnetsim.tui.widgets.parameters import ParametersPane
from subnetsim.tui.widgets.status import StatusBar, starting_text
from subnetsim.tui.widgets.subnets import NOT_FOR_NETWORKS, NotForNetworks, SubnetsPane
from subnetsim.tui.widgets.weights import WeightsPane

__all__ = ["PANELS", "QUIET_SECONDS", "REFRESH_SECONDS", "DashboardApp"]

FOCUS_TARGETS = "DataTable.main-table, LogPane, OptionList"
REFRESH_SECONDS = 0.3  # at most ~3 repaints a second, whatever the driver posts
QUIET_SECONDS = 0.25  # a key's answer takes < 0.1 s (docs/tui.md); collections wait that long
PANELS = (("overview", "Overview", OverviewPane), ("metagraph", "Metagraph", MetagraphPane),
          ("weights", "Weights", WeightsPane), ("charts", "Charts", ChartsPane),
          ("parameters", "Parameters", ParametersPane),
          ("governance", "Governance", GovernancePane), ("log", "Log", LogPane),
          ("ab", "A/B", ABPane))
NETWORK_PANELS = (("subnets", "Subnets", SubnetsPane),)  # a dTAO network's own panels


def _answers_command(shown: Snapshot | None, latest: Snapshot) -> bool:
    """Whether ``latest`` answers a key (state, notice or session changed): shown at once."""
    return shown is None or (shown.state, shown.notice, shown.session, len(shown.commands)) != \
        (latest.state, latest.notice, latest.session, len(latest.commands))


class DashboardApp(App[Snapshot | None]):
    """subnetsim's dashboard; the app's return value is the last snapshot it received."""

    CSS_PATH = "app.tcss"
    TITLE = "subnetsim"
    # Save, Quit and Help come first: at 80 columns the footer has room for about six keys.
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/Run"),
        Binding("s", "save", "Save"),
        Binding("q", "quit_dashboard", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("n", "step_block", "Block"),
        Binding("e", "step_epoch", "Epoch"),
        Binding("plus,equals_sign", "speed(1)", "Speed+", key_display="+"),
        Binding("minus", "speed(-1)", "Speed-", key_display="-"),
        Binding("r", "restart", "Restart"),
        Binding("ctrl+c", "quit_dashboard", "Quit", show=False),  # as in any terminal program
        Binding("escape", "leave_input", "Leave input", show=False),
        Binding("left_square_bracket", "next_subnet(-1)", "Previous subnet", show=False),
        Binding("right_square_bracket", "next_subnet(1)", "Next subnet", show=False),
        *(Binding(str(number), f"panel('{panel_id}')", title, show=False)
          for number, (panel_id, title, _) in enumerate((*PANELS, *NETWORK_PANELS), start=1)),
    ]

    def __init__(self, driver: messages.DashboardDriver, network: bool = False) -> None:
        """``network``: the scenario is a dTAO network (the Subnets panel, and a note in the
        panels that do not apply to networks)."""
        super().__init__()
        self.driver = driver
        self.network = network
        self.latest: Snapshot | None = None
        self._shown: Snapshot | None = None
        self._last_render = float("-inf")
        self._render_pending = False
        self._collecting = gc.isenabled()
        self._quiet_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        panels = (*PANELS, *NETWORK_PANELS) if self.network else PANELS
        with TabbedContent(initial="overview", id="panels"):
            for panel_id, title, pane in panels:
                with TabPane(title, id=panel_id):
                    if self.network and panel_id in NOT_FOR_NETWORKS:
                        yield NotForNetworks(NOT_FOR_NETWORKS[panel_id], id=f"{panel_id}-pane")
                    else:
                        yield pane(id=f"{panel_id}-pane")
        yield Footer()

    def on_mount(self) -> None:
        self._collecting = gc.isenabled()
        started = time.monotonic()
        status = self.query_one(StatusBar)
        status.update(starting_text(0.0))

        def tick() -> None:  # until the first snapshot replaces it
            if self.latest is None:
                status.update(starting_text(time.monotonic() - started))
            elif self._starting is not None:
                self._starting.stop()

        self._starting: Timer | None = self.set_interval(0.1, tick)
        self.driver.start(self._receive)

    def on_unmount(self) -> None:
        self._resume_collection()
        self.driver.stop()

    # --- garbage collection around keys --------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._hold_collection()
        await super().on_event(event)

    def _hold_collection(self) -> None:
        """No garbage collection for ``QUIET_SECONDS`` after a key: its answer renders first.

        Textual's render caches are reference cycles; a full collection over them takes ~50 ms
        at 120x40 (measured with gc callbacks) and falls due after a burst of allocation,
        typically the one answering a key. Held, it runs once the answer is on screen."""
        gc.disable()
        if self._quiet_timer is not None:
            self._quiet_timer.stop()
        self._quiet_timer = self.set_timer(QUIET_SECONDS, self._resume_collection)

    def _resume_collection(self) -> None:
        self._quiet_timer = None
        if self._collecting:
            gc.enable()

    def _receive(self, snapshot: Snapshot) -> None:
        """Called by the driver, from its thread: hand the snapshot to the app's loop."""
        self.post_message(messages.SnapshotReady(snapshot))

    # --- rendering ----------------------------------------------------------------------------

    def on_snapshot_ready(self, message: messages.SnapshotReady) -> None:
        self.latest = message.snapshot
        wait = self._last_render + REFRESH_SECONDS - time.monotonic()
        if wait <= 0 or _answers_command(self._shown, self.latest):
            self.render_latest()
        elif self._render_pending:
            return
        else:
            self._render_pending = True
            self.set_timer(wait, self.render_latest)

    def render_latest(self) -> None:
        """Show the latest snapshot in the status bar and the visible panel."""
        self._render_pending = False
        self._last_render = time.monotonic()
        # The panels live on the first screen; after exit there is none, and a late timer has
        # nothing to do. Under the help screen they wait: Textual re-tints the whole dimmed
        # background for every change under a modal (~50 ms at 120x40, measured), which would
        # delay keys. Closing the help renders the latest snapshot.
        if not self.screen_stack:
            return
        base, screen = self.screen_stack[0], self.screen
        if isinstance(screen, InspectorScreen) and self.latest is not None:
            screen.show(self.latest)
            return
        status = base.query(StatusBar)
        if self.latest is None or not status or screen is not base:
            return
        self._shown = self.latest
        status.first().show(self.latest)
        active = base.query_one(TabbedContent).active
        base.query_one(f"#{active}-pane").show(self.latest)  # type: ignore[attr-defined]

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.render_latest()
        self._focus_panel(str(event.pane.id))

    def _focus_panel(self, panel_id: str) -> None:
        # Focus the panel's main widget, so its own keys (sort, filter, Enter) work at once.
        pane = self.query_one(f"#{panel_id}-pane")
        # A panel that is itself the main widget (the Log) takes the focus itself.
        target = pane if pane.can_focus else next(iter(pane.query(FOCUS_TARGETS)), None)
        # Panels with nothing to focus take the tab bar, or the hidden panel's widget would keep
        # the focus and TabbedContent would switch back to it.
        (target or self.query_one(TabbedContent).query_one(Tabs)).focus()

    # --- messages from panels -----------------------------------------------------------------

    def on_parameter_edited(self, message: messages.ParameterEdited) -> None:
        self.driver.send(messages.SetHyperparameter(name=message.name, value=message.value))

    def on_subnet_selected(self, message: messages.SubnetSelected) -> None:
        self.driver.send(messages.SelectSubnet(netuid=message.netuid))

    def on_inspect_requested(self, message: messages.InspectRequested) -> None:
        self.driver.send(messages.InspectUid(uid=message.uid))
        if self.network:
            return  # refused by the worker, which says so on the status line

        def closed(_: None) -> None:
            self.driver.send(messages.InspectUid(uid=None))
            self.render_latest()

        self.push_screen(InspectorScreen(message.uid), closed)

    def on_fork_requested(self, message: messages.ForkRequested) -> None:
        self.driver.send(messages.StartAB(name=message.name, a=message.a, b=message.b))

    def on_fork_stop_requested(self, message: messages.ForkStopRequested) -> None:
        self.driver.send(messages.StopAB())

    def on_drill_requested(self, message: messages.DrillRequested) -> None:
        self.driver.send(messages.StartDrill(name=message.name))

    # --- keys ---------------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.driver.send(messages.TogglePause())

    def action_step_block(self) -> None:
        self.driver.send(messages.StepBlocks(count=1))

    def action_step_epoch(self) -> None:
        self.driver.send(messages.StepEpoch())

    def action_speed(self, steps: int) -> None:
        self.driver.send(messages.ChangeSpeed(steps=steps))

    def action_restart(self) -> None:
        """Restart only once confirmed: it discards the session's world."""

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.driver.send(messages.Restart())
            self.render_latest()

        self.push_screen(ConfirmScreen("Restart from genesis with the next seed? The session's "
                                       "world is discarded (its edits are kept)."), answered)

    def action_next_subnet(self, steps: int) -> None:
        """``[`` / ``]``: the per-subnet panels show the previous / next netuid (networks)."""
        view = self.latest.network if self.latest is not None else None
        if view is None:
            return
        netuids = [row.netuid for row in view.rows]
        at = netuids.index(view.selected) if view.selected in netuids else 0
        self.driver.send(messages.SelectSubnet(netuid=netuids[(at + steps) % len(netuids)]))

    def action_leave_input(self) -> None:
        """Esc in an input hands the keys back to the panel (its table, list or log)."""
        if isinstance(self.focused, Input):
            self._focus_panel(self.query_one(TabbedContent).active)

    def action_save(self) -> None:
        self.driver.send(messages.SaveRun())

    def action_panel(self, panel_id: str) -> None:
        if self.network or panel_id not in dict((p, t) for p, t, _ in NETWORK_PANELS):
            self.query_one(TabbedContent).active = panel_id

    def action_help(self) -> None:
        self.push_screen(HelpScreen(), callback=lambda _: self.render_latest())

    def action_quit_dashboard(self) -> None:
        self.driver.stop()
        self.exit(self.latest)
