/**
 * Preset deflate dictionary for the manifest (format version 1). Model topologies are small JSON
 * documents that repeat the same Keras keys; priming deflate with typical fragments saves about
 * 600 bytes per file, which matters for small, heavily compressed models. The lines are
 * concatenated without separators; docs/container-format.md reproduces them (a test checks this).
 * Most frequent fragments come last: deflate codes short distances more cheaply.
 */
export const MANIFEST_DICTIONARY_LINES: readonly string[] = [
  '{"name":"up_1","class_name":"Conv2DTranspose","config":{"filters":16,"kernel_size":[2,2],"strides":[2,2],"padding":"same"}}',
  '{"name":"skip_1","class_name":"Concatenate","config":{"axis":-1,"name":"skip_1","trainable":true},"inbound_nodes":[[["up_1",0,0,{}],["enc_1",0,0,{}]]]}',
  '{"name":"sep_2","class_name":"SeparableConv2D","config":{"filters":64,"depth_multiplier":1,"pointwise_initializer":{"class_name":"VarianceScaling","config":{"scale":2,"mode":"fan_in","distribution":"normal","seed":1}},"depthwise_regularizer":null,"pointwise_regularizer":null,"depthwise_constraint":null,"pointwise_constraint":null}}',
  '{"name":"dw_1","class_name":"DepthwiseConv2D","config":{"kernel_size":[3,3],"depth_multiplier":1,"depthwise_initializer":{"class_name":"VarianceScaling","config":{"scale":2,"mode":"fan_in","distribution":"normal","seed":1}},"depthwise_regularizer":null,"depthwise_constraint":null},"inbound_nodes":[[["stem_relu",0,0,{}]]]}',
  '{"name":"relu_1","class_name":"ReLU","config":{"max_value":6,"name":"relu_1","trainable":true}}',
  '{"name":"leaky_1","class_name":"LeakyReLU","config":{"alpha":0.2,"name":"leaky_1","trainable":true}}',
  '{"name":"softmax","class_name":"Softmax","config":{"axis":-1,"name":"softmax","trainable":true}}',
  '{"name":"block1_add","class_name":"Add","config":{"name":"block1_add","trainable":true},"inbound_nodes":[[["block1_bn2",0,0,{}],["stem_relu",0,0,{}]]]}',
  '{"name":"gap","class_name":"GlobalAveragePooling2D","config":{"data_format":"channels_last","name":"gap","trainable":true}}',
  '{"name":"bn_1","class_name":"BatchNormalization","config":{"axis":-1,"momentum":0.99,"epsilon":0.001,"center":true,"scale":true,"beta_initializer":{"class_name":"Zeros","config":{}},"gamma_initializer":{"class_name":"Ones","config":{}},"moving_mean_initializer":{"class_name":"Zeros","config":{}},"moving_variance_initializer":{"class_name":"Ones","config":{}},"beta_regularizer":null,"gamma_regularizer":null,"beta_constraint":null,"gamma_constraint":null,"name":"bn_1","trainable":true}}',
  '{"name":"relu","class_name":"Activation","config":{"activation":"relu","name":"relu","trainable":true}}',
  '{"name":"dropout_1","class_name":"Dropout","config":{"rate":0.5,"noise_shape":null,"seed":1,"name":"dropout_1","trainable":true}}',
  '{"name":"pool_1","class_name":"AveragePooling2D","config":{"pool_size":[2,2],"padding":"valid","strides":[2,2],"data_format":"channels_last","name":"pool_1","trainable":true}}',
  '{"name":"pool","class_name":"MaxPooling2D","config":{"pool_size":[2,2],"padding":"valid","strides":[2,2],"data_format":"channels_last","name":"pool","trainable":true},"inbound_nodes":[[["conv_1",0,0,{}]]]}',
  '{"name":"reshape","class_name":"Reshape","config":{"target_shape":[28,28,1],"name":"reshape","trainable":true},"inbound_nodes":[[["input",0,0,{}]]]}',
  '{"name":"conv_1","class_name":"Conv2D","config":{"filters":32,"kernel_initializer":{"class_name":"VarianceScaling","config":{"scale":1,"mode":"fan_avg","distribution":"uniform","seed":null}},"kernel_regularizer":null,"kernel_constraint":null,"kernel_size":[3,3],"strides":[1,1],"padding":"valid","data_format":"channels_last","dilation_rate":[1,1],"activation":"relu","use_bias":true,"bias_initializer":{"class_name":"Zeros","config":{}},"bias_regularizer":null,"activity_regularizer":null,"bias_constraint":null,"name":"conv_1","trainable":true},"inbound_nodes":[[["input",0,0,{}]]]}',
  '{"format":"tfjs-compress-container","model":{"modelTopology":{"class_name":"Model","config":{"name":"model","layers":[{"name":"input","class_name":"InputLayer","config":{"batch_input_shape":[null,28,28,1],"dtype":"float32","sparse":false,"name":"input"},"inbound_nodes":[]},',
  '{"name":"flatten","class_name":"Flatten","config":{"name":"flatten","trainable":true},"inbound_nodes":[[["input",0,0,{}]]]},',
  '{"name":"dense_1","class_name":"Dense","config":{"units":128,"activation":"relu","use_bias":true,"kernel_initializer":{"class_name":"VarianceScaling","config":{"scale":1,"mode":"fan_avg","distribution":"uniform","seed":null}},"bias_initializer":{"class_name":"Zeros","config":{}},"kernel_regularizer":null,"bias_regularizer":null,"activity_regularizer":null,"kernel_constraint":null,"bias_constraint":null,"name":"dense_1","trainable":true},"inbound_nodes":[[["flatten",0,0,{}]]]}',
  '],"input_layers":[["input",0,0]],"output_layers":[["logits",0,0]]},"keras_version":"tfjs-layers 4.22.0","backend":"tensor_flow.js"},"format":"layers-model","generatedBy":"TensorFlow.js tfjs-layers v4.22.0","convertedBy":null},',
  '"tensors":[{"name":"dense_1/kernel","shape":[784,300],"dtype":"float32","rawLength":0,"layout":"delta","nnz":0,"posBytes":0,"values":{"kind":"f32","shuffle":true},"length":0,"crc32":0,"compression":"deflate","offset":0},',
  '{"name":"dense_1/bias","shape":[300],"dtype":"float32","rawLength":0,"layout":"dense","nnz":0,"posBytes":0,"values":{"kind":"codebook","k":32,"bits":5,"packing":"bytes","zeroSlot":false},"length":0,"crc32":0,"compression":"none","offset":0},',
  '{"name":"logits/kernel","shape":[100,10],"dtype":"float32","rawLength":0,"layout":"bitmask","nnz":0,"posBytes":0,"values":{"kind":"affine","dtype":"int8","axis":1,"channels":10},"length":0,"crc32":0,"compression":"deflate","offset":0}]}',
];

let cached: Uint8Array | undefined;

/** The dictionary bytes (UTF-8 of the concatenated lines). */
export function manifestDictionary(): Uint8Array {
  cached ??= new TextEncoder().encode(MANIFEST_DICTIONARY_LINES.join(''));
  return cached;
}
