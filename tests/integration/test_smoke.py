from tests.factories import create_order


def test_r6_a_registered_order_is_awaiting_confirmation_and_not_mall_linked(client, tenant):
    order = create_order(client, tenant)
    assert order["status"] == "awaiting_confirmation"
    assert order["mall_linked"] is False
    assert [t["code"] for t in order["tags"]] == ["not_mall_linked", "unmapped_items"]
