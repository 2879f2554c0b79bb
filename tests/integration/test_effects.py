"""The effects registry (boss.effects): every outbox kind, lane and periodic duty is declared once, by the
module it lives in."""
from __future__ import annotations

import pytest

from boss import effects
from boss.csv import exports, files, mapping_import, order_import
from boss.malls.rakuten import importer, reflection
from boss.orders import bulk
from boss.warehouse import notices, shipping, sync


def test_each_outbox_kind_is_declared_with_its_handler_or_its_lane_and_its_timeout_setting():
    assert effects.kind("rms.import") == effects.Kind("rms.import", handler=importer.run_import)
    assert effects.kind("bulk.run") == effects.Kind("bulk.run", handler=bulk.run_job)
    assert effects.kind(reflection.KIND) == effects.Kind(reflection.KIND, dispatcher=reflection.hand_to_lanes,
                                                         timeout_setting="REFLECTION_REDISPATCH_SECONDS")
    lane = effects.lane("rms-reflect")
    assert (lane.step, lane.step_timeout_setting, lane.in_process) == (reflection.step, "RMS_TIMEOUT", True)
    duties = [duty.run for duty in effects.periodic_duties()]
    assert sorted(duties, key=id) == sorted([importer.start_due_imports, sync.start_due_syncs, files.delete_expired],
                                            key=id)
    for module, kind in ((order_import, "csv.orders"), (mapping_import, "csv.mappings"), (exports, "csv.export")):
        assert effects.kind(kind) == effects.Kind(kind, handler=module.run_job, timeout_setting="CSV_REDISPATCH_SECONDS")
    assert effects.kind(sync.OUTBOX_KIND) == effects.Kind(sync.OUTBOX_KIND, handler=sync.run_sync)
    for kind, lane_name, module in ((shipping.SEND_KIND, "warehouse-send", shipping),
                                    (notices.KIND, "warehouse-notice", notices)):
        assert effects.kind(kind) == effects.Kind(kind, dispatcher=module.hand_to_lanes,
                                                  timeout_setting="WAREHOUSE_REDISPATCH_SECONDS")
        lane = effects.lane(lane_name)
        assert (lane.step, lane.step_timeout_setting) == (module.step, "WAREHOUSE_TIMEOUT")


def test_a_kind_is_declared_once():
    with pytest.raises(ValueError):
        effects.declare("rms.import", handler=importer.run_import)


def test_a_kind_no_module_declares_waits_with_the_default_timeout_and_has_no_handler():
    assert effects.kind("gone.kind") == effects.Kind("gone.kind", timeout_setting=effects.DEFAULT_TIMEOUT_SETTING)
