"""A first end-to-end read on both databases."""

from tests.factories import gid

QUERY = """
query { attendees { totalCount nodes { id databaseId patient { firstName } booking { __typename } } } }
"""


async def test_lists_an_attendee(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant, first_name="Rosa")
    booking = await factory.group(tenant)
    attendee = await factory.attendee(tenant, booking, patient)

    data = await client_for(tenant.key).query(QUERY)

    assert data["attendees"]["totalCount"] == 1
    node = data["attendees"]["nodes"][0]
    assert node == {
        "id": gid("Attendee", attendee),
        "databaseId": str(attendee),
        "patient": {"firstName": "Rosa"},
        "booking": {"__typename": "GroupAppointment"},
    }
