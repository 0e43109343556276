"""Shopify's calculated query cost, computed over a GraphQL document (used by the emulator).

The documented rules (shopify.dev, "GraphQL Admin API rate limits", Cost calculation):

=================  ===============================================================
field returns      cost
=================  ===============================================================
scalar, enum       0
object             1 (plus its selection)
interface, union   the most expensive of the possible selections
connection         sized by ``first``/``last``: 2 + size × (1 + the node's selection)
mutation           10 (a root mutation field, whatever it selects)
=================  ===============================================================

Two readings the table leaves open, taken here: a list of nodes fetched by id (``nodes(ids:)``) costs
each requested node, and any other list of objects costs like one object. The *requested* cost
sizes connections by their ``first``/``last``; the *actual* cost (``data`` given) by what came back.
A single query may request at most 1,000 points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.language import DocumentNode

MUTATION_COST = 10
CONNECTION_BASE = 2


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], measured: bool
    ) -> None:
        self.schema = schema
        self.measured = measured
        self.variables = dict(variables)
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def fields_for(self, selection_set: SelectionSetNode | None, type_: GraphQLObjectType) -> list[FieldNode]:
        """The field nodes that apply to a concrete type, fragments expanded."""
        out: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                cond = selection.type_condition.name.value if selection.type_condition else None
                if cond is None or self._applies(cond, type_):
                    out.extend(self.fields_for(selection.selection_set, type_))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and self._applies(fragment.type_condition.name.value, type_):
                    out.extend(self.fields_for(fragment.selection_set, type_))
        return out

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        return (
            condition == type_.name
            or any(i.name == condition for i in type_.interfaces)
            or any(
                isinstance(t, GraphQLUnionType) and t.name == condition and type_ in t.types
                for t in self.schema.type_map.values()
            )
        )

    def selection_cost(self, parent: Any, selection_set: SelectionSetNode | None, data: Any) -> float:
        """Cost of a selection on ``parent`` (object, interface or union), without ``parent`` itself."""
        if isinstance(parent, (GraphQLInterfaceType, GraphQLUnionType)):
            possible = self.schema.get_possible_types(parent)
            return max((self.selection_cost(t, selection_set, data) for t in possible), default=0.0)
        if not isinstance(parent, GraphQLObjectType):
            return 0.0
        total = 0.0
        for node in self.fields_for(selection_set, parent):
            name = node.name.value
            if name.startswith("__"):
                continue
            field = parent.fields.get(name)
            if field is None:
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if isinstance(data, Mapping) else None
            total += self.field_cost(parent, field, node, value)
        return total

    def field_cost(
        self, parent: GraphQLObjectType, field: GraphQLField, node: FieldNode, value: Any
    ) -> float:
        measured = self.measured
        mutation_root = self.schema.mutation_type
        if mutation_root is not None and parent is mutation_root:
            return MUTATION_COST
        named = get_named_type(field.type)
        if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            return 0.0
        if measured and value is None:
            return 1.0 if not named.name.endswith("Connection") else float(CONNECTION_BASE)
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            return CONNECTION_BASE + self._connection_nodes(named, node, value)
        wrapped = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        is_list = isinstance(wrapped, GraphQLList)
        args = self._arguments(field, node)
        if is_list and isinstance(args.get("ids"), list):
            if measured:
                items = [v for v in value or [] if v is not None]
                return sum(1 + self.selection_cost(named, node.selection_set, v) for v in items)
            return len(args["ids"]) * (1 + self.selection_cost(named, node.selection_set, None))
        if is_list and measured:
            items = [v for v in value or [] if v is not None]
            return 1 + max((self.selection_cost(named, node.selection_set, v) for v in items), default=0.0)
        return 1 + self.selection_cost(named, node.selection_set, value if measured else None)

    def _connection_nodes(self, connection: GraphQLObjectType, node: FieldNode, data: Any) -> float:
        args = self._size_arguments(node)
        size = args.get("first") or args.get("last") or 0
        node_type = get_named_type(connection.fields["nodes"].type) if "nodes" in connection.fields else None
        best = 0.0
        for sub in self.fields_for(node.selection_set, connection):
            name = sub.name.value
            key = sub.alias.value if sub.alias else name
            sub_data = data.get(key) if isinstance(data, Mapping) else None
            if name == "nodes" and node_type is not None:
                cost = self._per_node(node_type, sub.selection_set, sub_data, size)
            elif name == "edges" and node_type is not None:
                edge_type = get_named_type(connection.fields["edges"].type)
                assert isinstance(edge_type, GraphQLObjectType)
                cost = 0.0
                for inner in self.fields_for(sub.selection_set, edge_type):
                    if inner.name.value == "node":
                        inner_key = inner.alias.value if inner.alias else "node"
                        nodes = [e.get(inner_key) for e in sub_data or [] if isinstance(e, Mapping)]
                        cost = max(cost, self._per_node(node_type, inner.selection_set, nodes, size))
            else:
                continue
            best = max(best, cost)
        return best

    def _per_node(self, node_type: Any, selection: SelectionSetNode | None, items: Any, size: int) -> float:
        if self.measured:
            return sum(1 + self.selection_cost(node_type, selection, v) for v in items or [] if v is not None)
        return size * (1 + self.selection_cost(node_type, selection, None))

    def _arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for arg in node.arguments or ():
            definition = field.args.get(arg.name.value)
            if definition is not None:
                out[arg.name.value] = value_from_ast(arg.value, definition.type, self.variables)
        return out

    def _size_arguments(self, node: FieldNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last"):
                value = value_from_ast(arg.value, GraphQLInt, self.variables)
                if isinstance(value, int):
                    out[arg.name.value] = value
        return out


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> int:
    """Requested cost (``data`` None) or actual cost (``data`` the answer's data) of one operation."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return 0
    operation = operations[0]
    root = schema.mutation_type if operation.operation == OperationType.MUTATION else schema.query_type
    walker = _Walker(schema, document, variables or {}, measured=data is not None)
    return round(walker.selection_cost(root, operation.selection_set, data))
