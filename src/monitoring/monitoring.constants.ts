/** Injection token of the resolved `MonitoringOptions`. */
export const MONITORING_OPTIONS = 'MONITORING:OPTIONS';
/** Injection token of the options as given by the user (before defaults). */
export const MONITORING_MODULE_OPTIONS = 'MONITORING:MODULE_OPTIONS';
/** Injection token of the prom-client `Registry` owned by this module instance. */
export const MONITORING_REGISTRY = 'MONITORING:REGISTRY';
/** Injection token of the list of enabled sinks. */
export const MONITORING_SINKS = 'MONITORING:SINKS';
