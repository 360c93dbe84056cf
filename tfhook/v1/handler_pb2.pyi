from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceInstructions(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN: _ClassVar[ResourceInstructions]
    CREATE: _ClassVar[ResourceInstructions]
    UPDATE: _ClassVar[ResourceInstructions]
    DELETE: _ClassVar[ResourceInstructions]
    NOOP: _ClassVar[ResourceInstructions]
UNKNOWN: ResourceInstructions
CREATE: ResourceInstructions
UPDATE: ResourceInstructions
DELETE: ResourceInstructions
NOOP: ResourceInstructions

class HandleRequest(_message.Message):
    __slots__ = ("source", "resource_name", "scaling_job_id", "instruction", "desired", "setup_grace_period")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    SCALING_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    DESIRED_FIELD_NUMBER: _ClassVar[int]
    SETUP_GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    source: str
    resource_name: str
    scaling_job_id: str
    instruction: ResourceInstructions
    desired: Resource
    setup_grace_period: int
    def __init__(self, source: _Optional[str] = ..., resource_name: _Optional[str] = ..., scaling_job_id: _Optional[str] = ..., instruction: _Optional[_Union[ResourceInstructions, str]] = ..., desired: _Optional[_Union[Resource, _Mapping]] = ..., setup_grace_period: _Optional[int] = ...) -> None: ...

class PostHandleRequest(_message.Message):
    __slots__ = ("source", "resource_name", "scaling_job_id", "result", "current", "setup_grace_period")
    class ResourceHandleResults(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[PostHandleRequest.ResourceHandleResults]
        CREATED: _ClassVar[PostHandleRequest.ResourceHandleResults]
        UPDATED: _ClassVar[PostHandleRequest.ResourceHandleResults]
        DELETED: _ClassVar[PostHandleRequest.ResourceHandleResults]
        NO_CHANGE: _ClassVar[PostHandleRequest.ResourceHandleResults]
    UNKNOWN: PostHandleRequest.ResourceHandleResults
    CREATED: PostHandleRequest.ResourceHandleResults
    UPDATED: PostHandleRequest.ResourceHandleResults
    DELETED: PostHandleRequest.ResourceHandleResults
    NO_CHANGE: PostHandleRequest.ResourceHandleResults
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    SCALING_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    SETUP_GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    source: str
    resource_name: str
    scaling_job_id: str
    result: PostHandleRequest.ResourceHandleResults
    current: Resource
    setup_grace_period: int
    def __init__(self, source: _Optional[str] = ..., resource_name: _Optional[str] = ..., scaling_job_id: _Optional[str] = ..., result: _Optional[_Union[PostHandleRequest.ResourceHandleResults, str]] = ..., current: _Optional[_Union[Resource, _Mapping]] = ..., setup_grace_period: _Optional[int] = ...) -> None: ...

class HandleResponse(_message.Message):
    __slots__ = ("scaling_job_id", "status", "log")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[HandleResponse.Status]
        RECEIVED: _ClassVar[HandleResponse.Status]
        ACCEPTED: _ClassVar[HandleResponse.Status]
        RUNNING: _ClassVar[HandleResponse.Status]
        DONE: _ClassVar[HandleResponse.Status]
        IGNORED: _ClassVar[HandleResponse.Status]
    UNKNOWN: HandleResponse.Status
    RECEIVED: HandleResponse.Status
    ACCEPTED: HandleResponse.Status
    RUNNING: HandleResponse.Status
    DONE: HandleResponse.Status
    IGNORED: HandleResponse.Status
    SCALING_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    scaling_job_id: str
    status: HandleResponse.Status
    log: str
    def __init__(self, scaling_job_id: _Optional[str] = ..., status: _Optional[_Union[HandleResponse.Status, str]] = ..., log: _Optional[str] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("server", "server_group_instance", "elb", "gslb", "dns", "router", "load_balancer")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SERVER_GROUP_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    ELB_FIELD_NUMBER: _ClassVar[int]
    GSLB_FIELD_NUMBER: _ClassVar[int]
    DNS_FIELD_NUMBER: _ClassVar[int]
    ROUTER_FIELD_NUMBER: _ClassVar[int]
    LOAD_BALANCER_FIELD_NUMBER: _ClassVar[int]
    server: Server
    server_group_instance: ServerGroupInstance
    elb: ELB
    gslb: GSLB
    dns: DNS
    router: Router
    load_balancer: LoadBalancer
    def __init__(self, server: _Optional[_Union[Server, _Mapping]] = ..., server_group_instance: _Optional[_Union[ServerGroupInstance, _Mapping]] = ..., elb: _Optional[_Union[ELB, _Mapping]] = ..., gslb: _Optional[_Union[GSLB, _Mapping]] = ..., dns: _Optional[_Union[DNS, _Mapping]] = ..., router: _Optional[_Union[Router, _Mapping]] = ..., load_balancer: _Optional[_Union[LoadBalancer, _Mapping]] = ...) -> None: ...

class Server(_message.Message):
    __slots__ = ("parent", "id", "zone", "core", "memory", "dedicated_cpu", "gpu", "cpu_model", "assigned_network", "name", "shutdown_force")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    CORE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_CPU_FIELD_NUMBER: _ClassVar[int]
    GPU_FIELD_NUMBER: _ClassVar[int]
    CPU_MODEL_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_NETWORK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_FORCE_FIELD_NUMBER: _ClassVar[int]
    parent: Parent
    id: str
    zone: str
    core: int
    memory: int
    dedicated_cpu: bool
    gpu: int
    cpu_model: str
    assigned_network: _containers.RepeatedCompositeFieldContainer[NetworkInfo]
    name: str
    shutdown_force: bool
    def __init__(self, parent: _Optional[_Union[Parent, _Mapping]] = ..., id: _Optional[str] = ..., zone: _Optional[str] = ..., core: _Optional[int] = ..., memory: _Optional[int] = ..., dedicated_cpu: _Optional[bool] = ..., gpu: _Optional[int] = ..., cpu_model: _Optional[str] = ..., assigned_network: _Optional[_Iterable[_Union[NetworkInfo, _Mapping]]] = ..., name: _Optional[str] = ..., shutdown_force: _Optional[bool] = ...) -> None: ...

class ServerGroupInstance(_message.Message):
    __slots__ = ("parent", "id", "zone", "core", "memory", "dedicated_cpu", "gpu", "cpu_model", "private_host_id", "disks", "edit_parameter", "cloud_config", "network_interfaces", "cd_rom_id", "interface_driver", "name", "tags", "description", "icon_id", "shutdown_force")
    class Disk(_message.Message):
        __slots__ = ("id", "zone", "source_archive_id", "source_disk_id", "plan", "connection", "size", "name", "tags", "description", "icon_id")
        ID_FIELD_NUMBER: _ClassVar[int]
        ZONE_FIELD_NUMBER: _ClassVar[int]
        SOURCE_ARCHIVE_ID_FIELD_NUMBER: _ClassVar[int]
        SOURCE_DISK_ID_FIELD_NUMBER: _ClassVar[int]
        PLAN_FIELD_NUMBER: _ClassVar[int]
        CONNECTION_FIELD_NUMBER: _ClassVar[int]
        SIZE_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        TAGS_FIELD_NUMBER: _ClassVar[int]
        DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
        ICON_ID_FIELD_NUMBER: _ClassVar[int]
        id: str
        zone: str
        source_archive_id: str
        source_disk_id: str
        plan: str
        connection: str
        size: int
        name: str
        tags: _containers.RepeatedScalarFieldContainer[str]
        description: str
        icon_id: str
        def __init__(self, id: _Optional[str] = ..., zone: _Optional[str] = ..., source_archive_id: _Optional[str] = ..., source_disk_id: _Optional[str] = ..., plan: _Optional[str] = ..., connection: _Optional[str] = ..., size: _Optional[int] = ..., name: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., icon_id: _Optional[str] = ...) -> None: ...
    class EditParameter(_message.Message):
        __slots__ = ("host_name", "password", "disable_password_auth", "enable_dhcp", "change_partition_uuid", "ip_address", "network_mask_len", "default_route", "ssh_keys", "ssh_key_ids", "startup_scripts")
        HOST_NAME_FIELD_NUMBER: _ClassVar[int]
        PASSWORD_FIELD_NUMBER: _ClassVar[int]
        DISABLE_PASSWORD_AUTH_FIELD_NUMBER: _ClassVar[int]
        ENABLE_DHCP_FIELD_NUMBER: _ClassVar[int]
        CHANGE_PARTITION_UUID_FIELD_NUMBER: _ClassVar[int]
        IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
        NETWORK_MASK_LEN_FIELD_NUMBER: _ClassVar[int]
        DEFAULT_ROUTE_FIELD_NUMBER: _ClassVar[int]
        SSH_KEYS_FIELD_NUMBER: _ClassVar[int]
        SSH_KEY_IDS_FIELD_NUMBER: _ClassVar[int]
        STARTUP_SCRIPTS_FIELD_NUMBER: _ClassVar[int]
        host_name: str
        password: str
        disable_password_auth: bool
        enable_dhcp: bool
        change_partition_uuid: bool
        ip_address: str
        network_mask_len: int
        default_route: str
        ssh_keys: _containers.RepeatedScalarFieldContainer[str]
        ssh_key_ids: _containers.RepeatedScalarFieldContainer[str]
        startup_scripts: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, host_name: _Optional[str] = ..., password: _Optional[str] = ..., disable_password_auth: _Optional[bool] = ..., enable_dhcp: _Optional[bool] = ..., change_partition_uuid: _Optional[bool] = ..., ip_address: _Optional[str] = ..., network_mask_len: _Optional[int] = ..., default_route: _Optional[str] = ..., ssh_keys: _Optional[_Iterable[str]] = ..., ssh_key_ids: _Optional[_Iterable[str]] = ..., startup_scripts: _Optional[_Iterable[str]] = ...) -> None: ...
    class NIC(_message.Message):
        __slots__ = ("upstream", "packet_filter_id", "user_ip_address", "assigned_network", "expose_info")
        UPSTREAM_FIELD_NUMBER: _ClassVar[int]
        PACKET_FILTER_ID_FIELD_NUMBER: _ClassVar[int]
        USER_IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
        ASSIGNED_NETWORK_FIELD_NUMBER: _ClassVar[int]
        EXPOSE_INFO_FIELD_NUMBER: _ClassVar[int]
        upstream: str
        packet_filter_id: str
        user_ip_address: str
        assigned_network: NetworkInfo
        expose_info: ServerGroupInstance.ExposeInfo
        def __init__(self, upstream: _Optional[str] = ..., packet_filter_id: _Optional[str] = ..., user_ip_address: _Optional[str] = ..., assigned_network: _Optional[_Union[NetworkInfo, _Mapping]] = ..., expose_info: _Optional[_Union[ServerGroupInstance.ExposeInfo, _Mapping]] = ...) -> None: ...
    class ExposeInfo(_message.Message):
        __slots__ = ("ports", "server_group_name", "weight", "vips", "health_check", "record_name", "ttl")
        PORTS_FIELD_NUMBER: _ClassVar[int]
        SERVER_GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
        WEIGHT_FIELD_NUMBER: _ClassVar[int]
        VIPS_FIELD_NUMBER: _ClassVar[int]
        HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
        RECORD_NAME_FIELD_NUMBER: _ClassVar[int]
        TTL_FIELD_NUMBER: _ClassVar[int]
        ports: _containers.RepeatedScalarFieldContainer[int]
        server_group_name: str
        weight: int
        vips: _containers.RepeatedScalarFieldContainer[str]
        health_check: ServerGroupInstance.HealthCheck
        record_name: str
        ttl: int
        def __init__(self, ports: _Optional[_Iterable[int]] = ..., server_group_name: _Optional[str] = ..., weight: _Optional[int] = ..., vips: _Optional[_Iterable[str]] = ..., health_check: _Optional[_Union[ServerGroupInstance.HealthCheck, _Mapping]] = ..., record_name: _Optional[str] = ..., ttl: _Optional[int] = ...) -> None: ...
    class HealthCheck(_message.Message):
        __slots__ = ("protocol", "path", "status_code")
        PROTOCOL_FIELD_NUMBER: _ClassVar[int]
        PATH_FIELD_NUMBER: _ClassVar[int]
        STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
        protocol: str
        path: str
        status_code: int
        def __init__(self, protocol: _Optional[str] = ..., path: _Optional[str] = ..., status_code: _Optional[int] = ...) -> None: ...
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    CORE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_CPU_FIELD_NUMBER: _ClassVar[int]
    GPU_FIELD_NUMBER: _ClassVar[int]
    CPU_MODEL_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_HOST_ID_FIELD_NUMBER: _ClassVar[int]
    DISKS_FIELD_NUMBER: _ClassVar[int]
    EDIT_PARAMETER_FIELD_NUMBER: _ClassVar[int]
    CLOUD_CONFIG_FIELD_NUMBER: _ClassVar[int]
    NETWORK_INTERFACES_FIELD_NUMBER: _ClassVar[int]
    CD_ROM_ID_FIELD_NUMBER: _ClassVar[int]
    INTERFACE_DRIVER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ICON_ID_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_FORCE_FIELD_NUMBER: _ClassVar[int]
    parent: Parent
    id: str
    zone: str
    core: int
    memory: int
    dedicated_cpu: bool
    gpu: int
    cpu_model: str
    private_host_id: str
    disks: _containers.RepeatedCompositeFieldContainer[ServerGroupInstance.Disk]
    edit_parameter: ServerGroupInstance.EditParameter
    cloud_config: str
    network_interfaces: _containers.RepeatedCompositeFieldContainer[ServerGroupInstance.NIC]
    cd_rom_id: str
    interface_driver: str
    name: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    description: str
    icon_id: str
    shutdown_force: bool
    def __init__(self, parent: _Optional[_Union[Parent, _Mapping]] = ..., id: _Optional[str] = ..., zone: _Optional[str] = ..., core: _Optional[int] = ..., memory: _Optional[int] = ..., dedicated_cpu: _Optional[bool] = ..., gpu: _Optional[int] = ..., cpu_model: _Optional[str] = ..., private_host_id: _Optional[str] = ..., disks: _Optional[_Iterable[_Union[ServerGroupInstance.Disk, _Mapping]]] = ..., edit_parameter: _Optional[_Union[ServerGroupInstance.EditParameter, _Mapping]] = ..., cloud_config: _Optional[str] = ..., network_interfaces: _Optional[_Iterable[_Union[ServerGroupInstance.NIC, _Mapping]]] = ..., cd_rom_id: _Optional[str] = ..., interface_driver: _Optional[str] = ..., name: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., icon_id: _Optional[str] = ..., shutdown_force: _Optional[bool] = ...) -> None: ...

class ELB(_message.Message):
    __slots__ = ("parent", "id", "region", "plan", "virtual_ip_address", "fqdn", "name")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FQDN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    parent: Parent
    id: str
    region: str
    plan: int
    virtual_ip_address: str
    fqdn: str
    name: str
    def __init__(self, parent: _Optional[_Union[Parent, _Mapping]] = ..., id: _Optional[str] = ..., region: _Optional[str] = ..., plan: _Optional[int] = ..., virtual_ip_address: _Optional[str] = ..., fqdn: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GSLB(_message.Message):
    __slots__ = ("id", "fqdn", "servers", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    FQDN_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    fqdn: str
    servers: _containers.RepeatedCompositeFieldContainer[GSLBServer]
    name: str
    def __init__(self, id: _Optional[str] = ..., fqdn: _Optional[str] = ..., servers: _Optional[_Iterable[_Union[GSLBServer, _Mapping]]] = ..., name: _Optional[str] = ...) -> None: ...

class GSLBServer(_message.Message):
    __slots__ = ("ip_address", "enabled", "weight")
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    ip_address: str
    enabled: bool
    weight: int
    def __init__(self, ip_address: _Optional[str] = ..., enabled: _Optional[bool] = ..., weight: _Optional[int] = ...) -> None: ...

class DNS(_message.Message):
    __slots__ = ("id", "zone", "dns_servers")
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    DNS_SERVERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    zone: str
    dns_servers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., zone: _Optional[str] = ..., dns_servers: _Optional[_Iterable[str]] = ...) -> None: ...

class Router(_message.Message):
    __slots__ = ("id", "zone", "band_width", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    BAND_WIDTH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    zone: str
    band_width: int
    name: str
    def __init__(self, id: _Optional[str] = ..., zone: _Optional[str] = ..., band_width: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class LoadBalancer(_message.Message):
    __slots__ = ("id", "zone", "virtual_ip_addresses", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_IP_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    zone: str
    virtual_ip_addresses: _containers.RepeatedCompositeFieldContainer[LoadBalancerVIP]
    name: str
    def __init__(self, id: _Optional[str] = ..., zone: _Optional[str] = ..., virtual_ip_addresses: _Optional[_Iterable[_Union[LoadBalancerVIP, _Mapping]]] = ..., name: _Optional[str] = ...) -> None: ...

class LoadBalancerVIP(_message.Message):
    __slots__ = ("ip_address", "port", "servers")
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    ip_address: str
    port: int
    servers: _containers.RepeatedCompositeFieldContainer[LoadBalancerServer]
    def __init__(self, ip_address: _Optional[str] = ..., port: _Optional[int] = ..., servers: _Optional[_Iterable[_Union[LoadBalancerServer, _Mapping]]] = ...) -> None: ...

class LoadBalancerServer(_message.Message):
    __slots__ = ("ip_address", "enabled")
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    ip_address: str
    enabled: bool
    def __init__(self, ip_address: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class Parent(_message.Message):
    __slots__ = ("elb", "gslb", "dns", "load_balancer")
    ELB_FIELD_NUMBER: _ClassVar[int]
    GSLB_FIELD_NUMBER: _ClassVar[int]
    DNS_FIELD_NUMBER: _ClassVar[int]
    LOAD_BALANCER_FIELD_NUMBER: _ClassVar[int]
    elb: ELB
    gslb: GSLB
    dns: DNS
    load_balancer: LoadBalancer
    def __init__(self, elb: _Optional[_Union[ELB, _Mapping]] = ..., gslb: _Optional[_Union[GSLB, _Mapping]] = ..., dns: _Optional[_Union[DNS, _Mapping]] = ..., load_balancer: _Optional[_Union[LoadBalancer, _Mapping]] = ...) -> None: ...

class NetworkInfo(_message.Message):
    __slots__ = ("ip_address", "netmask", "gateway", "index")
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NETMASK_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ip_address: str
    netmask: int
    gateway: str
    index: int
    def __init__(self, ip_address: _Optional[str] = ..., netmask: _Optional[int] = ..., gateway: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...
