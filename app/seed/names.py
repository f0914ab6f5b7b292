"""Word lists for believable synthetic people and notes (no real person is meant)."""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Liam", "Charlotte", "Noah", "Amelia", "Oliver", "Isla", "William", "Mia",
    "Jack", "Ava", "Leo", "Grace", "Lucas", "Chloe", "Henry", "Zoë", "Thomas", "Ruby",
    "James", "Sophie", "Ethan", "Harper", "Mateo", "Aisha", "Kenji", "Priya", "Arjun",
    "Mei", "Wei", "Fatima", "Omar", "Siobhan", "Declan", "Ngaio", "Tane", "Anika",
    "Rahul", "Elena", "José", "Lucía", "Kwame", "Adaeze", "Hannah", "Daniel", "Sarah",
    "Michael", "Jessica", "David", "Emily", "Katherine", "Benjamin", "Elizabeth",
    "Alexander", "Margaret", "Christopher", "Rebecca", "Samuel", "Yuki", "Minh", "Linh",
    "Bronwyn", "Callum", "Imogen", "Mohammed", "Leila", "Nikolai", "Anastasia", "Ivy",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson",
    "Martin", "White", "Anderson", "Walker", "Thompson", "Harris", "Lee", "Ryan",
    "Robinson", "Kelly", "King", "Campbell", "O'Brien", "O'Connor", "Murphy", "Chen",
    "Wang", "Li", "Zhang", "Singh", "Patel", "Sharma", "Kumar", "Tran", "Pham", "Le",
    "Kim", "Park", "Tanaka", "Sato", "Rossi", "Russo", "Papadopoulos", "Nikolaidis",
    "García", "Fernández", "Silva", "Santos", "Müller", "Schmidt", "Novak", "Kowalski",
    "Haddad", "Khoury", "Ahmed", "Hassan", "Okafor", "Mensah", "Te Whare", "Ngata",
    "MacDonald", "McKenzie", "Fitzgerald", "Smith-Jones", "Van der Berg", "De Luca",
)  # fmt: skip

PREFERRED = {
    "Katherine": "Kate", "Elizabeth": "Libby", "Alexander": "Alex", "Christopher": "Chris",
    "Margaret": "Maggie", "Benjamin": "Ben", "Samuel": "Sam", "Michael": "Mike",
    "Rebecca": "Bec", "Anastasia": "Ana", "William": "Will", "Daniel": "Dan",
}  # fmt: skip

TITLES = ("Dr", "Dr", "Dr", "Prof", "Mx")  # neutral: names are drawn independently of gender

EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

CASE_NAMES = (
    "Lower back pain",
    "Left knee: ACL reconstruction rehab",
    "Right shoulder impingement",
    "Post-natal core recovery",
    "Neck pain (desk work)",
    "Right ankle sprain",
    "Left hip replacement rehab",
    "WorkCover claim: right wrist",
    "Chronic pain management",
    "Running injury: plantar fasciitis",
)

CASE_NOTES = (
    "Referred by GP. Review progress every 4 sessions.",
    "Goal: return to weekend netball.",
    "Insurer approval on file.",
    "Home exercise programme given.",
    None,
)

ATTENDEE_NOTES = (
    "Bring own mat.",
    "Modified exercises: post-op knee.",
    "First class, please arrive 10 minutes early.",
    "Prefers the reformer by the window.",
    "Pregnant (2nd trimester): avoid prone work.",
    "Running late, will join at warm-up.",
)

CANCELLATION_NOTES = {
    10: "Feeling much better, will rebook if it flares up.",
    20: "Pain worse since the weekend, seeing GP first.",
    30: "Came down with a cold.",
    31: "Household member tested positive, isolating.",
    40: "Away interstate for the week.",
    50: "Car broke down.",
    60: "Called into a work meeting.",
}
