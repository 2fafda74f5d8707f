/** inUserNamespace lives in @stratum/layer (which needs it first, for its rootless defaults); re-exported here. */
export { inUserNamespace } from '@stratum/layer';
