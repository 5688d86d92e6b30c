"""The demo organization, Acme Corp: its group tree, its people and their keys. Fixed data, so every
seed of an empty database builds the same organization."""

from __future__ import annotations

from dataclasses import dataclass, field

ORG_NAME = "Acme Corp"
DOMAIN = "acme.example"


@dataclass(frozen=True)
class GroupSpec:
    path: str  # "Engineering/Backend Engineers": the parent is everything before the last slash
    kind: str
    description: str
    default: bool = False
    monthly_budget: str | None = None  # dollars, for the whole subtree
    monthly_budget_per_user: str | None = None  # dollars, for each member

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent_path(self) -> str | None:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else None


@dataclass(frozen=True)
class Person:
    name: str
    role: str = "member"  # org role
    groups: dict[str, str] = field(default_factory=dict)  # group path → group role
    monthly_limit: str | None = None  # dollars

    @property
    def email(self) -> str:
        return self.name.lower().replace("'", "").replace(" ", ".") + "@" + DOMAIN


@dataclass(frozen=True)
class KeySpec:
    name: str
    owner: str  # a person's name
    group: str | None  # a group path; None makes a personal key
    monthly_limit: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


GROUPS = (
    GroupSpec("All Staff", "custom", "Everyone at Acme; new people join automatically.", default=True),
    GroupSpec("Engineering", "department", "Product engineering.", monthly_budget="100"),
    GroupSpec("Engineering/Backend Engineers", "function", "APIs, services and data pipelines."),
    GroupSpec("Engineering/Frontend Engineers", "function", "Web and mobile applications."),
    GroupSpec("Engineering/DevOps Engineers", "function", "Infrastructure, CI and on-call."),
    GroupSpec("Marketing", "department", "Brand, content and campaigns.", monthly_budget="40"),
    GroupSpec("Marketing/Content Team", "function", "Blog posts, newsletters and documentation."),
    GroupSpec("Marketing/Design Team", "function", "Visual design and brand assets."),
    GroupSpec("Sales", "department", "New business and customer accounts.", monthly_budget="25"),
    GroupSpec(
        "Sales/Sales Reps", "function", "Account executives and business development.", monthly_budget_per_user="30"
    ),
    GroupSpec("Sales/Sales Engineers", "function", "Technical pre-sales: demos and proofs of concept."),
)

BACKEND = "Engineering/Backend Engineers"
FRONTEND = "Engineering/Frontend Engineers"
DEVOPS = "Engineering/DevOps Engineers"
CONTENT = "Marketing/Content Team"
DESIGN = "Marketing/Design Team"
REPS = "Sales/Sales Reps"
SALES_ENGINEERS = "Sales/Sales Engineers"

# The owner, Olivia Bennett, comes first: `covey demo` prints her credentials.
PEOPLE = (
    Person("Olivia Bennett", role="owner"),
    Person("Marcus Chen", role="admin"),
    Person("Sarah Goldberg", groups={"Engineering": "admin"}),
    Person("Priya Raman", groups={BACKEND: "admin"}),
    Person("James O'Connor", groups={BACKEND: "member"}, monthly_limit="150"),
    Person("Sofia Martinez", groups={BACKEND: "member", SALES_ENGINEERS: "member"}),
    Person("Daniel Kim", groups={BACKEND: "member", DEVOPS: "member"}),
    Person("Aisha Mohammed", groups={BACKEND: "member"}),
    Person("Lukas Schneider", groups={BACKEND: "member"}),
    Person("Emily Carter", groups={FRONTEND: "admin"}),
    Person("Noah Williams", groups={FRONTEND: "member"}),
    Person("Hannah Lee", groups={FRONTEND: "member", DESIGN: "member"}),
    Person("Mateo Rossi", groups={FRONTEND: "member"}),
    Person("Grace Thompson", groups={FRONTEND: "member"}),
    Person("Ravi Patel", groups={DEVOPS: "admin"}),
    Person("Chloe Dubois", groups={DEVOPS: "member"}),
    Person("Ethan Brooks", groups={DEVOPS: "member"}),
    Person("Laura Jensen", groups={"Marketing": "admin"}),
    Person("Mia Novak", groups={CONTENT: "admin"}),
    Person("Oliver Hughes", groups={CONTENT: "member"}),
    Person("Zoe Anderson", groups={CONTENT: "member"}, monthly_limit="40"),
    Person("Kenji Tanaka", groups={DESIGN: "admin"}),
    Person("Isabella Costa", groups={DESIGN: "member"}),
    Person("Michael Reyes", groups={"Sales": "admin"}),
    Person("Jessica Morgan", groups={REPS: "member"}, monthly_limit="25"),
    Person("Ryan Foster", groups={REPS: "member"}, monthly_limit="25"),
    Person("Amara Okafor", groups={REPS: "member"}, monthly_limit="25"),
    Person("Tom Becker", groups={REPS: "member"}),
    Person("Nina Petrova", groups={SALES_ENGINEERS: "admin"}),
    Person("Carlos Mendes", groups={SALES_ENGINEERS: "member"}),
)

KEYS = (
    KeySpec("backend-ci", "Priya Raman", BACKEND, monthly_limit="200", labels={"env": "ci"}),
    KeySpec("backend-dev", "Daniel Kim", BACKEND),
    KeySpec("frontend-assistant", "Emily Carter", FRONTEND, labels={"env": "dev"}),
    KeySpec("devops-runbooks", "Ravi Patel", DEVOPS, monthly_limit="100"),
    KeySpec("content-drafts", "Mia Novak", CONTENT, monthly_limit="50"),
    KeySpec("design-copy", "Kenji Tanaka", DESIGN),
    KeySpec("sales-email", "Jessica Morgan", REPS, monthly_limit="20"),
    KeySpec("solutions-demos", "Nina Petrova", SALES_ENGINEERS),
    KeySpec("sarah-personal", "Sarah Goldberg", None),
    KeySpec("marcus-scripts", "Marcus Chen", None, labels={"purpose": "automation"}),
)


@dataclass(frozen=True)
class TrafficSpec:
    key: str  # a key's name
    per_weekday: int  # requests on a typical weekday; weekends see a fraction
    models: tuple[str, ...]
    endpoint: str = "chat"


# The past weeks of requests `covey demo` records through the mock provider's models.
TRAFFIC_DAYS = 28
TRAFFIC = (
    TrafficSpec("backend-ci", 40, ("mock/gpt-4o-mini", "mock/gpt-4o")),
    TrafficSpec("backend-dev", 15, ("mock/claude-sonnet", "mock/gpt-4o")),
    TrafficSpec("frontend-assistant", 20, ("mock/gpt-4o", "mock/gpt-4o-mini")),
    TrafficSpec("devops-runbooks", 10, ("mock/gpt-4o-mini",)),
    TrafficSpec("content-drafts", 12, ("mock/claude-sonnet",)),
    TrafficSpec("design-copy", 6, ("mock/gpt-4o",)),
    TrafficSpec("sales-email", 8, ("mock/gpt-4o-mini",)),
    TrafficSpec("solutions-demos", 6, ("mock/gpt-4o", "mock/claude-sonnet")),
    TrafficSpec("sarah-personal", 5, ("mock/claude-sonnet",)),
    TrafficSpec("marcus-scripts", 10, ("mock/text-embedding-3-small",), endpoint="embeddings"),
)


@dataclass(frozen=True)
class AccessListSpec:
    name: str
    chat: tuple[str, ...]
    groups: tuple[str, ...]  # group paths it is assigned to
    embedding: tuple[str, ...] = ()


# Sales may use the chat models its keys use, and no others (its subgroups inherit the list).
ACCESS_LISTS = (
    AccessListSpec(
        "Sales approved models", ("mock/gpt-4o-mini", "mock/gpt-4o", "mock/claude-sonnet"), groups=("Sales",)
    ),
)
