// The attribution the built-in VGG19 weights need (CC BY 4.0), said where users see it: the About box and the
// Model panel. NOTICE in the repository root has the full statement.

export const WEIGHTS_CREDIT =
  'VGG19 ImageNet weights by Karen Simonyan and Andrew Zisserman, Visual Geometry Group, University of Oxford ' +
  '(CC BY 4.0), as converted to Keras and uint8-quantized by the TensorFlow.js converter.';

export const EXAMPLES_CREDIT = 'Example images: Golden Gate Bridge, a photo from Pexels (CC0); The Great Wave off Kanagawa, Katsushika Hokusai (public domain).';
